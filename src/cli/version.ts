/**
 * The program's version, printed by `flhe --version` and named in the files
 * flhe writes for other tools (`flhe export`).
 *
 * @module
 */

/** The program's version. */
export const VERSION = "0.1.0";
