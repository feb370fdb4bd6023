/**
 * What a page receives of a runtime event: plain fields by type, errors reduced to
 * name, code and message, stacks and any other object left out — so an event type
 * added later can lose a field on the dashboard but never leak one.
 */
import { expect, test } from 'vitest';
import { HandshakeRefusedError } from '../../src/errors.js';
import { describeError, isRoutineTransition, toDashboardEvent } from '../../src/observe/dashboard-events.js';
import type { RuntimeEvent } from '../../src/observe/events.js';

const SECRET = 'hunter2-in-a-field';

test('an error keeps name, code and message; its stack, cause and other fields are dropped', () => {
  const error = Object.assign(new HandshakeRefusedError('handshake refused: bad password', { cause: new Error(SECRET) }), { password: SECRET });
  const event = toDashboardEvent({ type: 'child-exit', id: 'c1', path: 'root/p/c1', reason: 'handshake-failed', normal: false, at: 5, error });
  expect(event).toEqual({
    type: 'child-exit', id: 'c1', path: 'root/p/c1', reason: 'handshake-failed', normal: false, at: 5,
    error: { name: 'HandshakeRefusedError', code: 'WW_HANDSHAKE_REFUSED', message: 'handshake refused: bad password' },
  });
  expect(JSON.stringify(event)).not.toContain(SECRET);
});

test('a pool event is cleaned the same way one level down; a leak\'s acquirer stack is not sent', () => {
  const leak: RuntimeEvent = {
    type: 'pool', id: 'p', path: 'root/p', at: 9,
    event: { type: 'leak', id: 'c2', endpoint: '127.0.0.1:1', leasedForMs: 3000, stack: `Error\n    at handler (/srv/app.js:1:1) ${SECRET}`, at: 9 },
  };
  expect(toDashboardEvent(leak)).toEqual({
    type: 'pool', id: 'p', path: 'root/p', at: 9,
    event: { type: 'leak', id: 'c2', endpoint: '127.0.0.1:1', leasedForMs: 3000, at: 9 },
  });
});

test('unknown shapes lose their objects and functions, keep strings, finite numbers and booleans; Infinity is spelled out', () => {
  const odd = { type: 'future', path: 'root/x', at: 1, limit: Number.POSITIVE_INFINITY, ok: true, session: { token: SECRET }, fn: () => SECRET, buf: Buffer.from(SECRET) };
  expect(toDashboardEvent(odd as unknown as RuntimeEvent)).toEqual({ type: 'future', path: 'root/x', at: 1, limit: 'Infinity', ok: true });
});

test('a very long message is clipped; a thrown non-error is described as text', () => {
  expect(describeError(new Error('x'.repeat(5000))).message).toHaveLength(501);
  expect(describeError('plain text')).toEqual({ name: 'Error', message: 'plain text' });
  expect(describeError({ name: 7, message: { secret: SECRET } })).toEqual({ name: 'Error', message: '' });
});

test('heartbeat round trips are routine; suspicion and death are not', () => {
  const state = (from: string, to: string): RuntimeEvent => ({ type: 'state', id: 'c', path: 'root/c', from, to, at: 0 });
  expect(isRoutineTransition(state('ready', 'probing'))).toBe(true);
  expect(isRoutineTransition(state('probing', 'ready'))).toBe(true);
  expect(isRoutineTransition(state('probing', 'suspect'))).toBe(false);
  expect(isRoutineTransition(state('suspect', 'ready'))).toBe(false);
  expect(isRoutineTransition(state('suspect', 'dead'))).toBe(false);
});
