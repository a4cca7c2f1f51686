/**
 * `npm run emqx:import -- --url http://host:18083 --key K --secret S --ingest-url https://... --token T`
 * creates or updates the connector, action and rules of definitions.ts through EMQX's REST API.
 * `--hocon-out FILE` writes the rendered HOCON for `emqx ctl conf load` instead; `--dry-run` only prints.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMain } from "./cli.ts";
import { DEFINITIONS, type Definitions, type RenderValues, render } from "./definitions.ts";
import {
  EmqxClient,
  EmqxHttpError,
  EmqxUnreachableError,
  type RestTarget,
  restTargets,
  targetPath,
} from "./emqx-api.ts";
import { generatedFiles } from "./generate.ts";
import { assertIngestToken, assertIngestUrl } from "./render.ts";

const USAGE = `usage:
  npm run emqx:import -- --url http://HOST:18083 --key KEY --secret SECRET \\
                         --ingest-url https://INGEST_BASE_URL --token TOKEN [--dry-run]
  npm run emqx:import -- --ingest-url https://INGEST_BASE_URL --token TOKEN --hocon-out FILE

  --url          EMQX dashboard/API listener (the client adds /api/v5)
  --key/--secret EMQX API key and secret (Basic auth)
  --ingest-url   base URL of the ingest front door; the action posts to <ingest-url>/emqx/rule-events
  --token        bearer token the ingest handler expects (at least 16 characters)
  --dry-run      print the requests instead of sending them (token redacted)
  --hocon-out    write rendered HOCON for \`emqx ctl conf load FILE\` instead of calling the API`;

// Shorter than this is guessable; the token is all that protects a public function URL.
const MIN_TOKEN_LENGTH = 16;

/** Where the CLI writes; tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: Io = { out: (line) => console.log(line), err: (line) => console.error(line) };

interface Options extends RenderValues {
  url?: string;
  key?: string;
  secret?: string;
  dryRun: boolean;
  hoconOut?: string;
}

class UsageError extends Error {}

function parse(argv: string[]): Options | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: "string" },
      key: { type: "string" },
      secret: { type: "string" },
      "ingest-url": { type: "string" },
      token: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "hocon-out": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  // The API flags are not needed to write a HOCON file.
  const required = values["hocon-out"]
    ? ["ingest-url", "token"]
    : ["url", "key", "secret", "ingest-url", "token"];
  const missing = required.filter((name) => !values[name as keyof typeof values]);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((name) => `--${name}`).join(", ")}`);
  return {
    url: values.url,
    key: values.key,
    secret: values.secret,
    ingestUrl: values["ingest-url"] as string,
    ingestToken: values.token as string,
    dryRun: values["dry-run"],
    hoconOut: values["hocon-out"],
  };
}

function checkFlag(flag: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    throw new UsageError(`--${flag}: ${error instanceof Error ? error.message : error}`);
  }
}

function validate(options: Options): void {
  checkFlag("ingest-url", () => assertIngestUrl(options.ingestUrl));
  checkFlag("token", () => assertIngestToken(options.ingestToken));
  if (options.ingestToken.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`--token: must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (options.url !== undefined && !/^https?:\/\/[^/]/.test(options.url)) {
    throw new UsageError("--url: must be an http:// or https:// URL, e.g. http://localhost:18083");
  }
}

/** Wraps `io` so that no line can show the given secrets, whatever EMQX echoes back. */
function redacting(io: Io, secrets: (string | undefined)[]): Io {
  const hidden = secrets.filter((secret): secret is string => Boolean(secret));
  const clean = (line: string) => hidden.reduce((text, secret) => text.replaceAll(secret, "***"), line);
  return { out: (line) => io.out(clean(line)), err: (line) => io.err(clean(line)) };
}

function renderedDefinitions(values: RenderValues): Definitions {
  return JSON.parse(render(JSON.stringify(DEFINITIONS), values)) as Definitions;
}

function writeHocon(file: string, values: RenderValues, io: Io): number {
  try {
    // The file holds the ingest token, so only its owner may read it (mode only applies to new files).
    writeFileSync(file, render(generatedFiles()["bridge.hocon"] ?? "", values), { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (error) {
    io.err(`cannot write ${file}: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  io.out(`wrote ${file}; load it with: emqx ctl conf load ${file}`);
  return 0;
}

function printRequests(client: EmqxClient, targets: RestTarget[], io: Io): void {
  for (const target of targets) {
    io.out(`GET ${client.baseUrl}${targetPath(target)}`);
    io.out(`  404 -> POST ${client.baseUrl}${target.collection} ${JSON.stringify(target.createBody)}`);
    io.out(`  200 -> PUT ${client.baseUrl}${targetPath(target)} ${JSON.stringify(target.updateBody)}`);
  }
}

function describeFailure(error: unknown, target: RestTarget): string {
  if (error instanceof EmqxUnreachableError) return error.message;
  if (!(error instanceof EmqxHttpError)) return `importing ${target.kind} ${target.id} failed: ${error}`;
  if (error.status === 401) {
    return `EMQX refused the API key/secret (401 ${error.code === "UNKNOWN" ? "BAD_API_KEY_OR_SECRET" : error.code}): check --key/--secret`;
  }
  return `EMQX rejected ${target.kind} ${target.id} (${error.status} ${error.code}): ${error.detail}`;
}

async function importAll(client: EmqxClient, targets: RestTarget[], io: Io): Promise<number> {
  for (const target of targets) {
    try {
      io.out(`${await client.upsert(target)} ${target.kind} ${target.id}`);
    } catch (error) {
      // Stop at the first failure: later definitions depend on earlier ones.
      io.err(describeFailure(error, target));
      return 1;
    }
  }
  return 0;
}

/** CLI entry: returns the exit code (0 ok, 1 EMQX or network failure, 2 usage). */
export async function main(argv: string[], io: Io = consoleIo): Promise<number> {
  let options: Options | "help";
  try {
    options = parse(argv);
    if (options !== "help") validate(options);
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    io.out(USAGE);
    return 0;
  }
  const safeIo = redacting(io, [options.ingestToken, options.secret]);
  if (options.hoconOut) return writeHocon(options.hoconOut, options, safeIo);
  const client = new EmqxClient({
    url: options.url ?? "",
    key: options.key ?? "",
    secret: options.secret ?? "",
  });
  const targets = restTargets(renderedDefinitions(options));
  if (!options.dryRun) return importAll(client, targets, safeIo);
  printRequests(client, targets, safeIo);
  return 0;
}

if (isMain(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
