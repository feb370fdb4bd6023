/**
 * The classifier a shared RESP session consults before writing (resp-exclusive.ts):
 * every command that needs a connection to itself is named with a reason, ordinary ones
 * (and read-only CLIENT subcommands, XREAD without BLOCK) share.
 */
import { describe, expect, it } from 'vitest';
import { blockTimeMs } from '../../src/transport/resp-blocking.js';
import type { RespArg } from '../../src/transport/resp-encoder.js';
import { exclusiveName, exclusiveReason } from '../../src/transport/resp-exclusive.js';

const reason = (...args: RespArg[]): string | undefined => exclusiveReason(args, blockTimeMs(args));

describe('exclusiveReason', () => {
  it.each([
    [['MULTI'], /transaction/], [['exec'], /transaction/], [['DISCARD'], /transaction/],
    [['WATCH', 'k'], /WATCH/], [['UNWATCH'], /WATCH/],
    [['BLPOP', 'q', '1'], /blocks/], [['BRPOPLPUSH', 'a', 'b', '0'], /blocks/], [['BZMPOP', '1', '1', 'z', 'MIN'], /blocks/],
    [['XREAD', 'BLOCK', '10', 'STREAMS', 's', '$'], /blocks/], [['WAIT', '1', '100'], /blocks/],
    [['SUBSCRIBE', 'c'], /order/], [['PSUBSCRIBE', 'p*'], /order/], [['SSUBSCRIBE', 'c'], /order/],
    [['UNSUBSCRIBE'], /order/], [['PUNSUBSCRIBE'], /order/], [['SUNSUBSCRIBE'], /order/], [['MONITOR'], /order/],
    [['SELECT', '1'], /database/], [['AUTH', 'u', 'p'], /connection for every caller/], [['HELLO', '3'], /connection/],
    [['RESET'], /connection/], [['QUIT'], /closes/],
    [['CLIENT', 'REPLY', 'OFF'], /connection/], [['client', 'tracking', 'on'], /connection/], [['CLIENT', 'SETNAME', 'x'], /connection/],
    [['CLIENT', 'NO-EVICT', 'on'], /connection/], [[Buffer.from('multi')], /transaction/],
  ] as [RespArg[], RegExp][])('%j needs the connection alone', (args, why) => {
    expect(reason(...args)).toMatch(why);
  });

  it.each([
    [['GET', 'k']], [['SET', 'k', 'v']], [['INCR', 'n']], [['EVAL', 'return 1', '0']], [['PING']],
    [['XREAD', 'COUNT', '1', 'STREAMS', 's', '0']], [['CLIENT', 'ID']], [['CLIENT', 'KILL', 'ID', '7']], [['CLIENT', 'INFO']],
    [['BLPOP', 'q', 'soon']], [[Buffer.from('get'), 'k']],
  ] as [RespArg[]][])('%j shares', (args) => {
    expect(reason(...args)).toBeUndefined();
  });

  it('names the command by its first word (and CLIENT by its subcommand), never an argument', () => {
    expect(exclusiveName(['blpop', 'secret-key', '1'])).toBe('BLPOP');
    expect(exclusiveName(['client', 'reply', 'off'])).toBe('CLIENT REPLY');
    expect(exclusiveName(['CLIENT', 's3cret value'])).toBe('CLIENT command');
  });
});
