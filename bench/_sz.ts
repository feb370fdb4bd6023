import { Packr, Unpackr } from 'msgpackr';
import { MsgpackCodec } from '../src/transport/msgpack-codec.js';
const gc = (globalThis as any).gc;
const heap = () => { for (let i = 0; i < 4; i++) gc(); return process.memoryUsage().heapUsed; };
function measure(name: string, make: () => unknown, n = 10000) {
  const keep: unknown[] = new Array(n);
  const h0 = heap();
  for (let i = 0; i < n; i++) keep[i] = make();
  const h1 = heap();
  console.log(name, ((h1 - h0) / n).toFixed(0), 'B');
  return keep;
}
const O = { useRecords: true, sequential: true } as const;
const srv = new Packr({ ...O });
const helloOk = srv.pack([2, { version: 1, clientId: 7 }]);
measure('Packr', () => new Packr({ ...O }));
measure('Unpackr', () => new Unpackr({ ...O }));
measure('Packr+pack hello', () => { const p = new Packr({ ...O }); p.pack([1, { version: 1 }]); p.pack([9, 1]); return p; });
measure('Unpackr+unpack hello_ok', () => { const u = new Unpackr({ ...O }); u.unpack(helloOk); return u; });
measure('MsgpackCodec', () => new MsgpackCodec());
measure('AbortController', () => new AbortController());
measure('Buffer.alloc(4)', () => Buffer.alloc(4));
measure('Map', () => new Map());
measure('Set', () => new Set());
measure('closure', () => { let x = 0; return () => x++; });
measure('named closure', () => { let x = 0; const f = () => x++; return f; });
measure('obj literal 2 closures', () => { let x = 0; return { next: (s: number) => { x += s; }, error: () => {} }; });
measure('obj literal 2 closures (unnamed)', () => { let x = 0; const o = { next: undefined as any, error: undefined as any }; o.next = (s: number) => { x += s; }; o.error = () => {}; return o; });
