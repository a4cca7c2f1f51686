import { readFileSync } from "node:fs";

/** Where one secret of a CLI may come from: an environment variable or a file, never the command line. */
export interface SecretSource {
  /** The flag that used to carry it, refused with a pointer to the safe ways. */
  argvFlag: string;
  fileFlag: string;
  envName: string;
}

/**
 * The secret from `--<fileFlag> FILE` (`-` is stdin; one trailing newline dropped) or from the
 * environment. Refuses it on the command line: npm prints a script's arguments, and shells keep them.
 */
export function readSecret(
  source: SecretSource,
  flags: { argv?: string | undefined; file?: string | undefined },
  env: Record<string, string | undefined>,
): string | undefined {
  if (flags.argv !== undefined) {
    throw new Error(
      `--${source.argvFlag} would show the secret on screen and in your shell history (npm prints a script's arguments): set ${source.envName}, or pass --${source.fileFlag} FILE`,
    );
  }
  if (flags.file !== undefined)
    return readFileSync(flags.file === "-" ? 0 : flags.file, "utf8").replace(/\r?\n$/, "");
  return env[source.envName] || undefined;
}

export const INGEST_TOKEN_SOURCE: SecretSource = {
  argvFlag: "token",
  fileFlag: "token-file",
  envName: "INGEST_TOKEN",
};

export const EMQX_API_SECRET_SOURCE: SecretSource = {
  argvFlag: "secret",
  fileFlag: "secret-file",
  envName: "EMQX_API_SECRET",
};

/** "INGEST_TOKEN or --token-file", for messages about a missing secret. */
export const describeSource = (source: SecretSource) => `${source.envName} or --${source.fileFlag}`;
