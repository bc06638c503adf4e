/**
 * The command line that starts this same program again, for parties that
 * spawn flhe as child processes (`flhe demo`).
 *
 * @module
 */

/** Permissions of a child run from a checkout: the same as the `./flhe` launcher. */
export const SELF_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** A program and its arguments, ready for `new Deno.Command(command, { args })`. */
export interface SelfCommand {
  /** Executable: the compiled `flhe` binary, or the `deno` running this checkout. */
  command: string;
  /** Arguments, ending with the flhe arguments given to {@link selfCommand}. */
  args: string[];
}

/** Overrides of what {@link selfCommand} detects; for tests. */
export interface SelfCommandOptions {
  /** Whether this is a `deno compile`d binary; default `Deno.build.standalone`. */
  standalone?: boolean;
  /** The running executable; default `Deno.execPath()`. */
  execPath?: string;
}

function isStandalone(execPath: string): boolean {
  const flag = (Deno.build as { standalone?: boolean }).standalone;
  if (typeof flag === "boolean") return flag;
  // Runtimes without `Deno.build.standalone`: a compiled binary is not named deno.
  const base = execPath.split(/[\\/]/).pop() ?? "";
  return !/^deno(\.exe)?$/i.test(base);
}

function localPath(url: URL): string {
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
}

/**
 * Returns the command line that runs flhe with `args` in a new process.
 *
 * In a binary built by `deno compile` (`Deno.build.standalone`), that is the
 * binary itself (`Deno.execPath()`) with `args`; its permissions are baked in.
 * In a checkout it is `deno run --quiet <permissions of ./flhe> --config
 * <repo>/deno.json <repo>/main.ts ...args`, with the `deno` running now, so it
 * works from any working directory.
 *
 * @param args flhe arguments, e.g. `["serve", "--bundle", "fed/server"]`.
 * @param opts Overrides of the detection, for tests.
 * @returns Executable and arguments.
 * @example
 * ```ts
 * const { command, args } = selfCommand(["data", "--clients", "2"]);
 * const child = new Deno.Command(command, { args }).spawn();
 * await child.status;
 * ```
 */
export function selfCommand(args: string[], opts: SelfCommandOptions = {}): SelfCommand {
  const command = opts.execPath ?? Deno.execPath();
  if (opts.standalone ?? isStandalone(command)) return { command, args: [...args] };
  const main = localPath(new URL("../../main.ts", import.meta.url));
  const config = new URL("../../deno.json", import.meta.url);
  return {
    command,
    args: [
      "run",
      "--quiet",
      ...SELF_PERMISSIONS,
      ...(config.protocol === "file:" ? ["--config", localPath(config)] : []),
      main,
      ...args,
    ],
  };
}
