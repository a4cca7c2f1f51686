import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

type Mapper = (fileName: string, line: number, column: number) => string | undefined;

/**
 * Stack traces of a bundled handler mapped to the TypeScript sources, at no cost until a stack is
 * printed. `--enable-source-maps` parses the bundle's multi-megabyte map at every cold start (70-90 ms),
 * and `process.setSourceMapsEnabled(true)` called later does not help: Node maps only modules loaded
 * after it. So the map (`index.mjs.map` next to the bundle) is read the first time an error's stack is
 * formatted, and each frame of the bundle is rewritten to `source.ts:line:column`.
 *
 * A no-op when there is no map next to `bundleUrl` (tsx, tests) or Node maps stacks itself already.
 * Returns whether it was installed.
 */
export function installLazySourceMaps(bundleUrl: string = import.meta.url): boolean {
  if (!bundleUrl.startsWith("file:") || process.sourceMapsEnabled) return false;
  const bundlePath = fileURLToPath(bundleUrl);
  const mapPath = `${bundlePath}.map`;
  if (!existsSync(mapPath)) return false;
  let mapper: Mapper | undefined;
  // V8 calls this once per error, when its `stack` is first read: a logged error, not a caught one.
  Error.prepareStackTrace = (error, frames) => {
    mapper ??= loadMapper(mapPath, bundlePath, bundleUrl);
    const map = mapper;
    return header(error) + frames.map((frame) => `\n    at ${mapFrame(frame, map)}`).join("");
  };
  return true;
}

function header(error: Error): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return "Error";
  }
}

function mapFrame(frame: NodeJS.CallSite, mapper: Mapper): string {
  const text = String(frame);
  const fileName = frame.getFileName();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (!fileName || line === null || column === null) return text;
  const original = mapper(fileName, line, column);
  return original ? text.replace(`${fileName}:${line}:${column}`, original) : text;
}

/** Reads the map once; a map that cannot be read leaves the frames as they are. */
function loadMapper(mapPath: string, bundlePath: string, bundleUrl: string): Mapper {
  let map: SourceMap;
  try {
    map = new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")));
  } catch {
    return () => undefined;
  }
  return (fileName, line, column) => {
    if (fileName !== bundlePath && fileName !== bundleUrl) return undefined;
    const entry = map.findEntry(line - 1, column - 1);
    if (!("originalSource" in entry)) return undefined;
    return `${projectPath(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  };
}

/** esbuild names sources relative to the bundle (`../../functions/x.ts`): the project path reads better. */
function projectPath(source: string): string {
  return source.replace(/^(?:\.\.?\/)+/, "");
}
