/**
 * The warning a finished CLI prints when something still holds the process open names
 * what, readably; the exit itself is tested through the CLI (test/chaos/scenario-command.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { describeOpenResources } from '../src/exit-when-done.js';

describe('describeOpenResources', () => {
  it('groups the resource types of process.getActiveResourcesInfo(), with readable names', () => {
    expect(describeOpenResources(['TCPServerWrap', 'Timeout', 'Timeout', 'FSEventWrap'])).toBe(
      'a TCP server listening (TCPServerWrap), 2 × a timer (Timeout), a resource (FSEventWrap)',
    );
  });
});
