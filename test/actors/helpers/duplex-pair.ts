/**
 * Two in-memory Duplex ends wired to each other, like a socket pair: bytes written on
 * one side are read on the other; `end()` on one side is a FIN for the other, which (with
 * `allowHalfOpen: false`) then ends and closes, like a TCP socket whose peer closed.
 */
import { Duplex } from 'node:stream';

export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (index: 0 | 1): Duplex =>
    new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const other = ends[1 - index];
        if (other && !other.destroyed) other.push(chunk);
        cb();
      },
      final(cb) {
        const other = ends[1 - index];
        if (other && !other.destroyed) other.push(null);
        cb();
      },
    });
  ends.push(make(0), make(1));
  return [ends[0]!, ends[1]!];
}
