import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { errorCodes, errorFromCode, WirewardenError } from '../src/errors.js';

const table = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = [...table.matchAll(/^\| `(WW_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => ({ code: m[1]!, name: m[2]! }));

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes src/errors.ts defines, with their classes', () => {
    expect(documented.map((d) => d.code).sort()).toEqual(errorCodes().sort());
    for (const { code, name } of documented) {
      const err = errorFromCode(code, 'x');
      expect(err.constructor.name).toBe(name);
      expect(err.code).toBe(code);
    }
  });

  it('every error class is exported from the public API and keeps its code and cause', () => {
    for (const { code, name } of documented) {
      const cls = (api as Record<string, unknown>)[name] as new (m: string, o?: { cause?: unknown }) => WirewardenError;
      expect(typeof cls, name).toBe('function');
      const cause = new Error('underlying');
      const err = new cls('message', { cause });
      expect(err).toBeInstanceOf(WirewardenError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(name);
      expect(err.cause).toBe(cause);
    }
  });

  it('codes are unique', () => {
    expect(new Set(errorCodes()).size).toBe(errorCodes().length);
  });

  it('an unknown code rebuilds as a protocol error naming the code', () => {
    const err = errorFromCode('WW_NOPE', 'boom');
    expect(err.code).toBe('WW_PROTOCOL_ERROR');
    expect(err.message).toContain('WW_NOPE');
  });
});
