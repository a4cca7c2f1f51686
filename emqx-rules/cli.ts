import { existsSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** True when the module at `moduleUrl` is the script node/tsx was started with (not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script || !existsSync(script)) return false;
  return moduleUrl === pathToFileURL(realpathSync(script)).href;
}
