import { getEventListeners, addAbortListener } from 'node:events';
const ac = new AbortController();
const d = addAbortListener(ac.signal, () => {});
console.log('with', getEventListeners(ac.signal, 'abort').length);
d[Symbol.dispose]();
console.log('after dispose', getEventListeners(ac.signal, 'abort').length);
