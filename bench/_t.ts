class A { readonly #f = (x: number): number => x + 1; g = () => 2; m() { const h = () => 3; return h; } }
export const a = new A();
