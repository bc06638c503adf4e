/**
 * The vocabulary of rounds that the server speaks and the dashboard, the
 * report and `flhe history` read: the record of a closed round, the events
 * of a running server, and the history file read back and printed. It sits
 * below the parties and the dashboard, so neither depends on the other.
 *
 * @module
 */

export * from "./record.ts";
export * from "./events.ts";
export * from "./round_table.ts";
