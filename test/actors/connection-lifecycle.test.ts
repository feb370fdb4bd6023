/**
 * The connection actor's non-heartbeat transitions: dialing → ready, every way to die
 * (dial, handshake, peer close, protocol error, socket error, KILL) and CLOSE from every
 * non-final state. Virtual time, fake transport and protocol.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, DialRefusedError, DialTimeoutError, FrameTooLargeError, HandshakeFailedError, ProtocolError } from '../../src/errors.js';
import type { ConnectionOutput } from '../../src/actors/connection-types.js';
import { liveConnection } from '../../src/actors/live-connection.js';
import { virtualConnection, type VirtualConnection } from './helpers/virtual-connection.js';

function output(c: VirtualConnection): ConnectionOutput {
  const s = c.actor.getSnapshot();
  expect(s.status).toBe('done');
  return s.output!;
}

describe('dialing', () => {
  it('connects, handshakes and becomes ready, exposing the session through liveConnection', async () => {
    const c = virtualConnection({ transport: { delayMs: 30 }, protocol: { handshake: { ms: 20 } } });
    expect(c.actor.getSnapshot().value).toEqual({ dialing: 'connecting' });
    expect(liveConnection(c.actor)?.session).toBeUndefined();
    await c.advanceTo(30);
    expect(c.actor.getSnapshot().value).toEqual({ dialing: 'handshaking' });
    await c.advanceTo(50);
    expect(c.state()).toBe('ready');
    const view = liveConnection(c.actor)!;
    expect(view.state).toBe('ready');
    expect(view.session).toBe(c.protocol.session);
    expect(view.protocol).toBe(c.protocol);
    expect(view.endpoint).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(view.since).toBe(50);
    expect(c.actor.getSnapshot().context.readyAt).toBe(50);
    expect(c.transport.last.options.connectTimeoutMs).toBe(10_000);
    expect(c.transport.last.options.scheduler).toBe(c.vts);
    expect(c.errors).toEqual([]);
  });

  it('dies with dial-failed and the typed dial error when the transport rejects', async () => {
    const refused = new DialRefusedError('dial tcp 127.0.0.1:7000 refused (ECONNREFUSED)');
    const c = virtualConnection({ transport: { delayMs: 5, error: refused } });
    await c.advanceTo(5);
    expect(c.state()).toBe('dead');
    expect(output(c)).toEqual({ reason: 'dial-failed', error: refused, uptimeMs: 0 });
  });

  it('wraps an untyped dial failure in DialFailedError', async () => {
    const c = virtualConnection({ transport: { error: new Error('boom') } });
    await c.advanceTo(0);
    const out = output(c);
    expect(out.reason).toBe('dial-failed');
    expect(out.error?.code).toBe('WW_DIAL_FAILED');
    expect(out.error?.cause).toBeInstanceOf(Error);
  });

  it('bounds the dial by connectTimeoutMs on the scheduler and aborts the transport', async () => {
    const c = virtualConnection({ transport: { hang: true }, input: { connectTimeoutMs: 250 } });
    await c.advanceTo(249);
    expect(c.state()).toBe('dialing');
    await c.advanceTo(250);
    const out = output(c);
    expect(out.reason).toBe('dial-failed');
    expect(out.error).toBeInstanceOf(DialTimeoutError);
    expect(c.transport.last.aborted).toBe(true);
  });

  it('dies with handshake-failed when the protocol rejects the hello', async () => {
    const c = virtualConnection({ protocol: { handshake: 'fail' } });
    await c.advanceTo(0);
    const out = output(c);
    expect(out.reason).toBe('handshake-failed');
    expect(out.error).toBeInstanceOf(HandshakeFailedError);
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('dies with handshake-failed after handshakeTimeoutMs and aborts the protocol signal', async () => {
    const c = virtualConnection({ protocol: { handshake: 'hang' }, input: { handshakeTimeoutMs: 400 } });
    await c.advanceTo(399);
    expect(c.actor.getSnapshot().value).toEqual({ dialing: 'handshaking' });
    await c.advanceTo(400);
    const out = output(c);
    expect(out.reason).toBe('handshake-failed');
    expect(out.error?.message).toMatch(/timed out after 400 ms/);
    expect(c.protocol.openSignal?.aborted).toBe(true);
  });

  it('dies with handshake-failed when the peer closes during the handshake', async () => {
    const c = virtualConnection({ protocol: { handshake: 'hang' } });
    await c.advanceTo(0);
    c.transport.last.server!.end();
    await c.advanceTo(1);
    const out = output(c);
    expect(out.reason).toBe('handshake-failed');
    expect(out.error).toBeInstanceOf(HandshakeFailedError);
  });
});

describe('death of a ready connection', () => {
  async function ready(): Promise<VirtualConnection> {
    const c = virtualConnection({ heartbeat: { intervalMs: 10_000 } });
    await c.advanceTo(100);
    expect(c.state()).toBe('ready');
    return c;
  }

  it('peer close → dead(peer-closed) with uptime', async () => {
    const c = await ready();
    c.transport.last.server!.end();
    await c.advanceTo(150);
    expect(c.states).toEqual(['dialing', 'ready', 'dead']);
    const out = output(c);
    expect(out.reason).toBe('peer-closed');
    expect(out.error).toBeInstanceOf(ConnectionClosedError);
    expect(out.uptimeMs).toBe(100);
  });

  it('stream destroyed with a ProtocolError → dead(protocol-error), same error', async () => {
    const c = await ready();
    const err = new ProtocolError('bad frame type 0x7f');
    c.transport.last.client!.destroy(err);
    await c.advanceTo(101);
    expect(output(c)).toMatchObject({ reason: 'protocol-error', error: err });
  });

  it('a frame too large is a protocol-error too', async () => {
    const c = await ready();
    c.transport.last.client!.destroy(new FrameTooLargeError('frame of 4294967295 bytes exceeds maxFrameBytes 16777216'));
    await c.advanceTo(101);
    expect(output(c).reason).toBe('protocol-error');
  });

  it('a socket error → dead(socket-error), wrapped with the cause', async () => {
    const c = await ready();
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    c.transport.last.client!.destroy(reset);
    await c.advanceTo(101);
    const out = output(c);
    expect(out.reason).toBe('socket-error');
    expect(out.error).toBeInstanceOf(ConnectionClosedError);
    expect(out.error?.cause).toBe(reset);
    expect(out.error?.message).toContain('ECONNRESET');
  });

  it('KILL → dead with the given reason and error, stream destroyed', async () => {
    const c = await ready();
    const err = new ProtocolError('validation failed');
    c.actor.send({ type: 'KILL', reason: 'leak-reclaimed', error: err });
    expect(output(c)).toEqual({ reason: 'leak-reclaimed', error: err, uptimeMs: 100 });
    await c.advanceTo(101);
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('KILL without an error has no error in the output', async () => {
    const c = await ready();
    c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    expect(output(c)).toEqual({ reason: 'max-lifetime', uptimeMs: 100 });
  });

  it('KILL while dialing aborts the dial', async () => {
    const c = virtualConnection({ transport: { hang: true } });
    await c.advanceTo(10);
    c.actor.send({ type: 'KILL', reason: 'max-lifetime' });
    await c.advanceTo(11);
    expect(output(c).reason).toBe('max-lifetime');
    expect(c.transport.last.aborted).toBe(true);
  });
});

describe('CLOSE', () => {
  it('from dialing/connecting: aborts the dial → closed', async () => {
    const c = virtualConnection({ transport: { hang: true } });
    await c.advanceTo(10);
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(11);
    expect(output(c)).toEqual({ reason: 'closed', uptimeMs: 0 });
    expect(c.transport.last.aborted).toBe(true);
  });

  it('from dialing/handshaking: aborts the handshake → closed, stream destroyed', async () => {
    const c = virtualConnection({ protocol: { handshake: 'hang' } });
    await c.advanceTo(10);
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(11);
    expect(output(c).reason).toBe('closed');
    expect(c.protocol.openSignal?.aborted).toBe(true);
    expect(c.transport.last.client!.destroyed).toBe(true);
    expect(c.protocol.closeCalls).toBe(0);
  });

  it('from ready: protocol.close, stream destroyed → closed with uptime', async () => {
    const c = virtualConnection({ transport: { delayMs: 40 }, protocol: { close: { ms: 30 } }, heartbeat: { intervalMs: 10_000 } });
    await c.advanceTo(100);
    c.actor.send({ type: 'CLOSE' });
    expect(c.state()).toBe('closing');
    expect(c.protocol.closeCalls).toBe(1);
    await c.advanceTo(130);
    expect(c.states).toEqual(['dialing', 'ready', 'closing', 'closed']);
    expect(output(c)).toEqual({ reason: 'closed', uptimeMs: 90 });
    expect(c.transport.last.client!.destroyed).toBe(true);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('closing is bounded by closeTimeoutMs when protocol.close hangs', async () => {
    const c = virtualConnection({ protocol: { close: 'hang' }, input: { closeTimeoutMs: 700 }, heartbeat: { intervalMs: 10_000 } });
    await c.advanceTo(0);
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(699);
    expect(c.state()).toBe('closing');
    c.actor.send({ type: 'CLOSE' }); // ignored while closing
    await c.advanceTo(700);
    expect(output(c).reason).toBe('closed');
    expect(c.transport.last.client!.destroyed).toBe(true);
  });

  it('from probing: cancels the probe → closing → closed', async () => {
    const c = virtualConnection({ protocol: { probe: 'hang' }, heartbeat: { intervalMs: 1000 } });
    await c.advanceTo(500);
    expect(c.state()).toBe('probing');
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(501);
    expect(output(c).reason).toBe('closed');
    expect(c.protocol.probes[0]!.settled).toBe('aborted');
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'closing', 'closed']);
  });

  it('from suspect → closing → closed', async () => {
    const c = virtualConnection({ protocol: { probe: 'hang' }, heartbeat: { intervalMs: 1000, maxTimeoutMs: 100 } });
    await c.advanceTo(650);
    expect(c.state()).toBe('suspect');
    c.actor.send({ type: 'CLOSE' });
    await c.advanceTo(651);
    expect(output(c).reason).toBe('closed');
    expect(c.states).toEqual(['dialing', 'ready', 'probing', 'suspect', 'closing', 'closed']);
    expect(c.vts.actions).toHaveLength(0);
  });

  it('a KILL during closing still kills', async () => {
    const c = virtualConnection({ protocol: { close: 'hang' }, heartbeat: { intervalMs: 10_000 } });
    await c.advanceTo(0);
    c.actor.send({ type: 'CLOSE' });
    c.actor.send({ type: 'KILL', reason: 'socket-error' });
    expect(output(c).reason).toBe('socket-error');
  });
});
