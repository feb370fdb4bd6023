import { asyncScheduler } from 'rxjs';
const N = 200_000;
function t(name: string, f: () => void) { for (let i = 0; i < 1000; i++) f(); const a = process.hrtime.bigint(); for (let i = 0; i < N; i++) f(); const b = process.hrtime.bigint(); console.log(name, (Number(b - a) / N).toFixed(1), 'ns'); }
const work = () => {};
t('asyncScheduler.schedule+unsubscribe (same delay)', () => { asyncScheduler.schedule(work, 1000).unsubscribe(); });
let d = 100;
t('asyncScheduler.schedule+unsubscribe (varying delay)', () => { asyncScheduler.schedule(work, 100 + (d++ % 50)).unsubscribe(); });
t('setInterval+clearInterval', () => { clearInterval(setInterval(work, 1000)); });
t('setTimeout+clearTimeout', () => { clearTimeout(setTimeout(work, 1000)); });
const keep: any[] = [];
for (let i = 0; i < 10000; i++) keep.push(setTimeout(work, 1000));
t('setTimeout+clear with 10k pending', () => { clearTimeout(setTimeout(work, 1000)); });
const a = asyncScheduler.schedule(work, 1000) as any;
t('action.schedule (re-arm pending, same delay)', () => { a.schedule(undefined, 1000); });
t('action.schedule (re-arm pending, alt delay)', () => { a.schedule(undefined, (d++ & 1) ? 1000 : 105); });
for (const k of keep) clearTimeout(k);
a.unsubscribe();
