/**
 * RestartPacer: at most `batch` restarts per turn, the rest in order in later turns (a
 * 1 ms timer on the scheduler), nothing delayed while there is budget, nothing left after clear().
 */
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { RestartPacer } from '../../src/supervisor/restart-pacer.js';

function pacer(batch: number) {
  const vts = new VirtualTimeScheduler();
  const schedule = (delayMs: number, fn: () => void) => {
    const sub = vts.schedule(fn, delayMs);
    return () => sub.unsubscribe();
  };
  return { vts, pacer: new RestartPacer(schedule, batch) };
}

describe('RestartPacer', () => {
  it('runs up to batch at once, then the rest in order, one batch per 1 ms turn', () => {
    const { vts, pacer: p } = pacer(3);
    const ran: string[] = [];
    for (let i = 0; i < 8; i++) p.run(() => ran.push(`${i}@${vts.now()}`));
    expect(ran).toEqual(['0@0', '1@0', '2@0']);
    expect(p.waiting).toBe(5);
    vts.flush();
    expect(ran).toEqual(['0@0', '1@0', '2@0', '3@1', '4@1', '5@1', '6@2', '7@2']);
    expect(p.waiting).toBe(0);
    expect(vts.actions).toHaveLength(0);
  });

  it('a restart with budget left is never delayed, and a new turn refills the budget', () => {
    const { vts, pacer: p } = pacer(2);
    const ran: string[] = [];
    p.run(() => ran.push(`a@${vts.now()}`));
    vts.schedule(() => p.run(() => ran.push(`b@${vts.now()}`)), 5);
    vts.schedule(() => p.run(() => ran.push(`c@${vts.now()}`)), 5);
    vts.schedule(() => p.run(() => ran.push(`d@${vts.now()}`)), 5);
    vts.flush();
    expect(ran).toEqual(['a@0', 'b@5', 'c@5', 'd@6']);
  });

  it('clear() drops the waiting restarts and the turn timer', () => {
    const { vts, pacer: p } = pacer(1);
    const ran: number[] = [];
    for (let i = 0; i < 4; i++) p.run(() => ran.push(i));
    p.clear();
    vts.flush();
    expect(ran).toEqual([0]);
    expect(vts.actions.filter((a) => !a.closed)).toHaveLength(0);
  });
});
