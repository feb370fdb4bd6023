const gc = (globalThis as any).gc;
const heap = () => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed; };
function measure(name: string, make: () => unknown, n = 20000) {
  const keep: unknown[] = new Array(n);
  const h0 = heap();
  for (let i = 0; i < n; i++) keep[i] = make();
  const h1 = heap();
  console.log(name, ((h1 - h0) / n).toFixed(0), 'B');
  return keep;
}
class S { #x = 0; #on(m: number) { this.#x += m; }
  lit() { return { onMessage: (m: number) => this.#on(m), onClose: () => this.#on(1) }; }
  bnd() { return { onMessage: this.#on.bind(this), onClose: this.#on.bind(this) }; }
}
measure('2 closures in literal', () => new S().lit());
measure('2 bound', () => new S().bnd());
measure('object only', () => new S());
