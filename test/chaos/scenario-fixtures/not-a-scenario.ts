/** A file that exports something else: the CLI must refuse it. */
export default { name: 'looks like one', durationMs: 100 };
