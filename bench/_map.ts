const defaultOptions = { clock: { setTimeout: (f: any, t: any) => setTimeout(f, t), clearTimeout: (i: any) => clearTimeout(i) }, logger: console.log.bind(console), devTools: false };
function mk(options: any) { return { ...defaultOptions, ...options }; }
const parent = {};
const a = mk({ id: 'a', parent, input: { x: 1 } });
const b = mk({ id: 'b', parent, input: { x: 2 } });
// @ts-ignore
console.log('same map (3 keys):', eval('%HaveSameMap(a, b)'));
const c = mk({ id: 'a', input: { x: 1 } }); const d = mk({ id: 'b', input: { x: 2 } });
// @ts-ignore
console.log('same map (2 keys):', eval('%HaveSameMap(c, d)'));
