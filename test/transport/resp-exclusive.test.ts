/**
 * The classifier a shared RESP session consults before writing (resp-exclusive.ts):
 * every command that needs a connection to itself is named with a reason, ordinary ones
 * (and read-only CLIENT subcommands, XREAD without BLOCK) share.
 */
import { describe, expect, it } from 'vitest';
import type { RespArg } from '../../src/transport/resp-encoder.js';
import { exclusiveName, exclusiveReason } from '../../src/transport/resp-exclusive.js';

const reason = (...args: RespArg[]): string | undefined => exclusiveReason(args);

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
    [['READONLY'], /connection for every caller/], [['readwrite'], /connection for every caller/],
    [['ASKING'], /next command, which may be another caller's/],
    [['SYNC'], /replication stream/], [['PSYNC', '?', '-1'], /replication stream/],
  ] as [RespArg[], RegExp][])('%j needs the connection alone', (args, why) => {
    expect(reason(...args)).toMatch(why);
  });

  // Redis 7.0.15 blocks on every one of these (checked in resp-sharing.test.ts): block
  // times read by strtold, XREADGROUP options in any order. Refused by name and by the
  // BLOCK option, whatever the value says — and so are values Redis would refuse.
  it.each([
    [['BLPOP', 'q', '0x0']], [['BRPOP', 'q', '0x1p3']], [['BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '0x0.8p0']],
    [['BLPOP', 'q', Buffer.from('0'.repeat(40))]], [['BZPOPMIN', 'z', ' 1']], [['BLMPOP', '0x0', '1', 'q', 'LEFT']],
    [['BLPOP', 'q', 'soon']], [['BLPOP', 'q', '-1']], [['BLPOP']], [['WAIT', '0', '0x10']], [['WAITAOF', '0', '0', '0']],
    [['BZPOPMAX', 'z', '1']], [['BRPOPLPUSH', 'a', 'b', '0']], [['BZMPOP', '1', '1', 'z', 'MAX']],
    [['XREADGROUP', 'BLOCK', '0', 'GROUP', 'g', 'c', 'STREAMS', 's', '>']],
    [['XREADGROUP', 'COUNT', '1', 'BLOCK', 'x', 'GROUP', 'g', 'c', 'STREAMS', 's', '>']],
    [['xreadgroup', 'GROUP', 'g', 'c', 'NOACK', 'block', '0', 'STREAMS', 's', '>']],
    [['XREAD', 'COUNT', '1', 'BLOCK', '0x0', 'STREAMS', 's', '$']], [['XREAD', 'BLOCK', Buffer.from('0'.repeat(40)), 'STREAMS', 's', '$']],
  ] as [RespArg[]][])('%j blocks, whatever its block time says', (args) => {
    expect(reason(...args)).toMatch(/blocks/);
  });

  it.each([
    [['GET', 'k']], [['SET', 'k', 'v']], [['INCR', 'n']], [['EVAL', 'return 1', '0']], [['PING']],
    [['XREAD', 'COUNT', '1', 'STREAMS', 's', '0']], [['CLIENT', 'ID']], [['CLIENT', 'KILL', 'ID', '7']], [['CLIENT', 'INFO']],
    [[Buffer.from('get'), 'k']], [['BLPOPX', 'q', '1']], [['WAITS', '1', '1']],
    [['READONLYX']], [['SYNCS']], [['ASKINGS']], [['PSYNCH']], [['SCAN', '0']], [['SINTER', 'a']],
    [['XREAD', 'STREAMS', 'BLOCK', '$']], // a key named BLOCK
    [['XREAD', 'COUNT', 'BLOCK', 'STREAMS', 's', '0']], // COUNT's value, not an option
    [['XREADGROUP', 'GROUP', 'g', 'BLOCK', 'STREAMS', 's', '>']], // a consumer named BLOCK
    [['XREADGROUP', 'GROUP', 'BLOCK', 'BLOCK', 'COUNT', 'BLOCK', 'STREAMS', 'BLOCK', '>']],
  ] as [RespArg[]][])('%j shares', (args) => {
    expect(reason(...args)).toBeUndefined();
  });

  it('names the command by its first word (and CLIENT by its subcommand), never an argument', () => {
    expect(exclusiveName(['blpop', 'secret-key', '1'])).toBe('BLPOP');
    expect(exclusiveName(['client', 'reply', 'off'])).toBe('CLIENT REPLY');
    expect(exclusiveName(['CLIENT', 's3cret value'])).toBe('CLIENT command');
  });
});
