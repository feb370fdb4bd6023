/**
 * Queue-delay shedding (CoDel as DBConnection applies it): when waits stay above the target
 * for a whole interval, new waiters that would queue behind a standing queue are refused at
 * once and queued ones past twice the target are dropped, until waits stay well below the
 * target for an interval. Pure: time is passed in.
 */
import { describe, expect, it } from 'vitest';
import {
  parseSheddingOptions, QueueDelayShedder, sheddingDefaults,
} from '../../../src/pool/health/queue-delay-shedder.js';

function make(queueTargetMs = 50, queueIntervalMs = 250) {
  const changes: [boolean, number][] = [];
  const shedder = new QueueDelayShedder({ queueTargetMs, queueIntervalMs }, (s, at) => changes.push([s, at]));
  return { shedder, changes };
}

describe('QueueDelayShedder', () => {
  it('starts shedding one interval after waits went above the target, dated from when the waiter crossed it', () => {
    const { shedder, changes } = make();
    shedder.onDequeue(1000, 80); // above the target since 970
    expect(shedder.admit(1219, 299)).toBe(true);
    expect(shedder.shedding).toBe(false);
    expect(shedder.dropAfterMs).toBe(Number.POSITIVE_INFINITY);
    expect(shedder.admit(1220, 300)).toBe(false);
    expect(shedder.shedding).toBe(true);
    expect(shedder.dropAfterMs).toBe(100);
    expect(changes).toEqual([[true, 1220]]);
  });

  it('one wait at or below the target, or an empty queue, starts the interval over', () => {
    const { shedder } = make();
    shedder.onDequeue(0, 60);
    shedder.onDequeue(200, 50); // at the target: not above
    shedder.onDequeue(300, 60);
    expect(shedder.admit(500, 60)).toBe(true); // above since 290 only
    shedder.onEmpty(520);
    shedder.onDequeue(600, 60);
    expect(shedder.admit(839, 100)).toBe(true); // the empty queue at 520 bounds the dating
    expect(shedder.admit(840, 100)).toBe(false);
  });

  it('while shedding, admits behind a short queue and refuses behind one past the target', () => {
    const { shedder } = make();
    shedder.observeQueue(0, 60);
    shedder.observeQueue(300, 360);
    expect(shedder.shedding).toBe(true);
    expect(shedder.admit(301, 50)).toBe(true);
    expect(shedder.admit(302, 51)).toBe(false);
    expect(shedder.admit(303, 0)).toBe(true);
  });

  it('recovers only after waits stay at or below half the target for an interval', () => {
    const { shedder, changes } = make();
    shedder.observeQueue(0, 60);
    shedder.observeQueue(300, 360);
    shedder.onDequeue(400, 20);
    shedder.onDequeue(600, 40); // below the target, above half of it: the queue still stands
    shedder.onDequeue(850, 20);
    expect(shedder.shedding).toBe(true);
    shedder.onDequeue(1000, 25);
    expect(shedder.shedding).toBe(true);
    shedder.onEmpty(1099);
    expect(shedder.shedding).toBe(true);
    shedder.onEmpty(1100);
    expect(shedder.shedding).toBe(false);
    expect(changes).toEqual([[true, 300], [false, 1100]]);
  });

  it('names the rule in WW_POOL_OVERLOADED', () => {
    const err = make().shedder.overloadedError(12, 73.4);
    expect(err.code).toBe('WW_POOL_OVERLOADED');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('acquire shed: queue wait stayed above 50 ms for 250 ms (waiting 12, oldest waited 73 ms)');
  });

  it('validates its options', () => {
    expect(parseSheddingOptions(undefined)).toEqual(sheddingDefaults);
    expect(() => parseSheddingOptions({ queueTargetMs: 0 }, 'pool.shedding')).toThrow('pool.shedding.queueTargetMs must be an integer in [1, 2147483647] (ms), got 0');
    expect(() => parseSheddingOptions({ queueTargetMs: 100, queueIntervalMs: 50 }, 'pool.shedding'))
      .toThrow('pool.shedding.queueIntervalMs must be >= pool.shedding.queueTargetMs (100), got 50');
    expect(() => parseSheddingOptions({ queue_target: 50 }, 'pool.shedding')).toThrow(/queue_target is not a known option/);
  });
});
