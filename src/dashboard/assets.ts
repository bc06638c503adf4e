/**
 * The files the dashboard's page needs, served by flhe itself (no CDN):
 * uPlot's script and style sheet from the `uplot` npm package, and the
 * page's own script and style sheet beside this module (`static/`). They
 * are read from the installed package in a checkout and from the files
 * `deno task compile` embeds (`scripts/compile.ts`) in a binary.
 *
 * @module
 */

import { FlheError } from "../util/error.ts";

/** The pinned uplot version (deno.json); names its folder in `node_modules/.deno`. */
export const UPLOT_VERSION = "1.6.32";

/** uPlot's files the page loads, in its `dist` folder. */
export const UPLOT_FILES = { script: "uPlot.iife.min.js", style: "uPlot.min.css" } as const;

/** The page's own files, in `static/` beside this module. */
export const PAGE_FILES = { script: "dashboard.js", style: "dashboard.css" } as const;

/** The texts of the page's files. */
export interface Assets {
  /** uPlot (IIFE build: defines the global `uPlot`). */
  readonly uplotScript: string;
  /** uPlot's style sheet. */
  readonly uplotStyle: string;
  /** The page's script. */
  readonly pageScript: string;
  /** The page's style sheet. */
  readonly pageStyle: string;
}

/** Where uPlot's `dist` folder may be: the import map's, then `node_modules`. */
function uplotDirs(): URL[] {
  const dirs: URL[] = [];
  try {
    dirs.push(new URL("./", import.meta.resolve("uplot")));
  } catch {
    // No import map in effect (or the package is not in a binary's graph).
  }
  const nodeModules = new URL("../../node_modules/", import.meta.url);
  dirs.push(new URL("uplot/dist/", nodeModules));
  dirs.push(new URL(`.deno/uplot@${UPLOT_VERSION}/node_modules/uplot/dist/`, nodeModules));
  return dirs;
}

async function readFirst(dirs: readonly URL[], name: string): Promise<string | undefined> {
  for (const dir of dirs) {
    if (dir.protocol !== "file:") continue;
    try {
      return await Deno.readTextFile(new URL(name, dir));
    } catch {
      // Not there; try the next one.
    }
  }
  return undefined;
}

let cached: Promise<Assets> | undefined;

async function load(): Promise<Assets> {
  const uplot = uplotDirs();
  const own = [new URL("./static/", import.meta.url)];
  const [uplotScript, uplotStyle, pageScript, pageStyle] = await Promise.all([
    readFirst(uplot, UPLOT_FILES.script),
    readFirst(uplot, UPLOT_FILES.style),
    readFirst(own, PAGE_FILES.script),
    readFirst(own, PAGE_FILES.style),
  ]);
  if (uplotScript === undefined || uplotStyle === undefined) {
    throw new FlheError(
      "input",
      `dashboard: uplot@${UPLOT_VERSION} is not installed (no node_modules/uplot/dist); ` +
        "run `deno install`",
    );
  }
  if (pageScript === undefined || pageStyle === undefined) {
    throw new FlheError("input", "dashboard: its page files (src/dashboard/static) are missing");
  }
  return { uplotScript, uplotStyle, pageScript, pageStyle };
}

/**
 * Reads the page's files once per process.
 *
 * @returns Their texts.
 * @throws {FlheError} `input` if uplot is not installed or the page files are missing.
 *
 * @example Usage
 * ```ts
 * import { loadAssets } from "./assets.ts";
 * const { uplotScript } = await loadAssets();
 * ```
 */
export function loadAssets(): Promise<Assets> {
  cached ??= load();
  cached.catch(() => (cached = undefined));
  return cached;
}
