/**
 * The commands of one RESP connection waiting for their replies, oldest first. RESP has
 * no request ids: the n-th reply answers the n-th command still waiting, so this queue
 * is the whole matching logic.
 *
 *   push ──▶ [ head … tail ] ──▶ shift (on each reply)
 *
 * An array with a moving head: `shift` is O(1) (no `Array.prototype.shift` copying on a
 * deep pipeline), and the array is compacted when the consumed prefix outweighs the rest.
 */

/** @internal A FIFO with O(1) push and shift. */
export class RespFifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): T[] {
    const rest = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
