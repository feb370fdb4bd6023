/**
 * The server end of an in-memory duplex, played by the test: it records the commands it
 * reads (and the chunks they came in), and writes whatever raw bytes the test says.
 */
import type { Duplex } from 'node:stream';
import { waitFor } from '../helpers.js';
import { asStrings, CommandReader } from './command-reader.js';

export class ScriptedPeer {
  readonly stream: Duplex;
  readonly commands: string[][] = [];
  /** How many chunks the commands arrived in (pipelining leaves in one). */
  chunks = 0;
  ended = false;
  readonly #reader = new CommandReader();

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.chunks++;
      for (const args of this.#reader.push(chunk)) this.commands.push(asStrings(args));
    });
    stream.on('end', () => (this.ended = true));
    stream.on('error', () => {});
  }

  /** Waits until `n` commands in total have arrived. */
  async received(n: number): Promise<string[][]> {
    await waitFor(() => this.commands.length >= n, `${n} commands`);
    return this.commands.slice(0, n);
  }

  /** Writes raw RESP (CRLF line endings expected in `text`). */
  send(text: string | Buffer): void {
    this.stream.write(text);
  }
}
