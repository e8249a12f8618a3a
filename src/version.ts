/** cloudmirror's version, as package.json says (test/unit/version.test.ts keeps the two equal); a constant, so nothing reads a file to start. */
export const VERSION = '0.1.0';
