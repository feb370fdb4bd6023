/**
 * Writes encoded RESP commands to a stream through the connection's write queue
 * (write-queue.ts, policy `'wait'`): behind a slow server, commands wait in order instead
 * of failing. RESP needs no framing of ours (the frame writer's length prefix would
 * corrupt it).
 *
 *   write(command) ──▶ WriteQueue ──▶ every chunk of the command ──▶ stream
 *
 * Trade-offs:
 * - Nothing is refused for being slow: a command past `maxQueuedBytes` waits in the queue
 *   until the socket drains, and the caller's timeout runs meanwhile (its expiry still
 *   closes the connection). `maxQueuedBytes` bounds what is handed to the socket ahead of
 *   the server; one command may overshoot it, never be split.
 * - The session registers a command's reply slot when it calls `write`, waiting or not:
 *   the order of calls is the order of bytes on the wire is the order of replies.
 * - Auto-pipelining: the commands issued in one tick (concurrent callers) leave in one
 *   stream write, a lone command without a cork (the queue's bursts).
 */
import type { Duplex } from 'node:stream';
import type { EncodedCommand } from './resp-encoder.js';
import { WriteQueue, type WriteItems } from './write-queue.js';

/** How the write queue puts RESP commands on the wire: whole, never refused. */
const COMMANDS: WriteItems<EncodedCommand> = {
  overflow: 'wait',
  noun: 'command',
  bytes: (command) => command.bytes,
  write: writeCommand,
  split: (command) => command.chunks.length > 1,
};

/** Every chunk of a command goes out, even after a `false`: a command must not be split. */
function writeCommand(stream: Duplex, command: EncodedCommand): boolean {
  let ok = true;
  for (const chunk of command.chunks) ok = stream.write(chunk);
  return ok;
}

/** @internal The outbound half of one RESP connection. */
export type RespWriter = WriteQueue<EncodedCommand>;

/** @internal A RESP connection's writer: `write(command)`, `end()`, `dispose()`, `queuedBytes`. */
export function respWriter(stream: Duplex, maxQueuedBytes: number): RespWriter {
  return new WriteQueue(stream, COMMANDS, maxQueuedBytes);
}
