import { getEventListeners, addAbortListener } from 'node:events';
const N = 1_000_000;
function t(name: string, f: () => void) { f(); const a = process.hrtime.bigint(); for (let i = 0; i < N; i++) f(); const b = process.hrtime.bigint(); console.log(name, (Number(b - a) / N).toFixed(1), 'ns'); }
const ac = new AbortController(); const sig = ac.signal;
addAbortListener(sig, () => {});
let sink: unknown;
t('new AbortController + signal', () => { sink = new AbortController().signal; });
t('getEventListeners(1)', () => { sink = getEventListeners(sig, 'abort').length; });
const empty = new AbortController().signal;
t('getEventListeners(0)', () => { sink = getEventListeners(empty, 'abort').length; });
t('addAbortListener+dispose', () => { const d = addAbortListener(sig, () => {}); d[Symbol.dispose](); });
t('addEventListener+remove', () => { const f = () => {}; sig.addEventListener('abort', f, { once: true }); sig.removeEventListener('abort', f); });
