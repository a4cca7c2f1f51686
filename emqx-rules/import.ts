/**
 * `INGEST_TOKEN=... EMQX_API_SECRET=... npm run emqx:import -- --url https://host:18084 --key K --ingest-url https://...`
 * creates or updates the connector, action and rules of definitions.ts through EMQX's REST API.
 * Then, unless `--rules-only`, the authenticator and authorization of access.ts (import-access.ts).
 * `--hocon-out FILE` / `--access-hocon-out FILE` write the rendered HOCON for `emqx ctl conf load`
 * instead; `--dry-run` only prints.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isMain } from "./cli.ts";
import {
  DEFINITIONS,
  type Definitions,
  type RenderValues,
  render,
  withoutApiRequests,
} from "./definitions.ts";
import {
  EmqxClient,
  EmqxHttpError,
  EmqxUnreachableError,
  emqxApiBaseUrl,
  type RestTarget,
  restTargets,
  targetPath,
} from "./emqx-api.ts";
import { generatedFiles } from "./generate.ts";
import { importAccess, printAccessRequests, renderedAccess, renderedAccessHocon } from "./import-access.ts";
import { assertIngestToken, assertIngestUrl } from "./render.ts";
import { describeSource, EMQX_API_SECRET_SOURCE, INGEST_TOKEN_SOURCE, readSecret } from "./secret-input.ts";

const USAGE = `usage:
  export INGEST_TOKEN=...  EMQX_API_SECRET=...      (or --token-file FILE, --secret-file FILE; - is stdin)
  npm run emqx:import -- --url https://HOST:18084 --key KEY --ingest-url https://INGEST_BASE_URL [--dry-run]
  npm run emqx:import -- --ingest-url https://INGEST_BASE_URL --hocon-out .local-data/bridge.hocon
  npm run emqx:import -- --ingest-url https://INGEST_BASE_URL --access-hocon-out FILE

  --url          EMQX dashboard/API listener: https://HOST:18084 (http: 18083), with or without /api/v5
  --key          EMQX API key (or EMQX_API_KEY); its secret from EMQX_API_SECRET or --secret-file
  --ingest-url   base URL of the ingest front door; the action posts to <ingest-url>/emqx/rule-events
  --api-url      base URL of the API front door, for the API over MQTT (<api-url>/emqx/app-requests);
                 without it the requests rule, its action and connector are left out
  INGEST_TOKEN   bearer token the ingest handler expects (at least 16 characters), or --token-file
                 (never on the command line: npm prints a script's arguments)
  --dry-run      print the requests instead of sending them (token redacted)
  --hocon-out    write rendered HOCON for \`emqx ctl conf load FILE\` instead of calling the API
  --rules-only   skip the HTTP authenticator and authorization (devices authenticate another way)
  --access-hocon-out  write the authenticator and authorization as HOCON instead of calling the API`;

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
  accessHoconOut?: string;
  rulesOnly: boolean;
}

class UsageError extends Error {}

function parse(argv: string[], env: Record<string, string | undefined>): Options | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: "string" },
      key: { type: "string" },
      secret: { type: "string" },
      "secret-file": { type: "string" },
      "ingest-url": { type: "string" },
      "api-url": { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "hocon-out": { type: "string" },
      "access-hocon-out": { type: "string" },
      "rules-only": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const secrets = readSecrets(values, env);
  const key = values.key ?? (env.EMQX_API_KEY || undefined);
  // The API flags are not needed to write a HOCON file.
  const writesFiles = Boolean(values["hocon-out"] || values["access-hocon-out"]);
  const given: Record<string, unknown> = { ...values, key, ...secrets };
  const missing = (writesFiles ? REQUIRED_FOR_FILES : REQUIRED).filter(([name]) => !given[name]);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map(([, label]) => label).join(", ")}`);
  return {
    url: values.url,
    key,
    secret: secrets.secret,
    ingestUrl: values["ingest-url"] as string,
    apiUrl: values["api-url"],
    ingestToken: secrets.token as string,
    dryRun: values["dry-run"],
    hoconOut: values["hocon-out"],
    accessHoconOut: values["access-hocon-out"],
    rulesOnly: values["rules-only"],
  };
}

const REQUIRED_FOR_FILES = [
  ["ingest-url", "--ingest-url"],
  ["token", `the ingest token (${describeSource(INGEST_TOKEN_SOURCE)})`],
] as const;
const REQUIRED = [
  ["url", "--url"],
  ["key", "--key (or EMQX_API_KEY)"],
  ["secret", `the API secret (${describeSource(EMQX_API_SECRET_SOURCE)})`],
  ...REQUIRED_FOR_FILES,
] as const;

function readSecrets(
  values: { token?: string; "token-file"?: string; secret?: string; "secret-file"?: string },
  env: Record<string, string | undefined>,
) {
  try {
    return {
      token: readSecret(INGEST_TOKEN_SOURCE, { argv: values.token, file: values["token-file"] }, env),
      secret: readSecret(EMQX_API_SECRET_SOURCE, { argv: values.secret, file: values["secret-file"] }, env),
    };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
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
  if (options.apiUrl !== undefined)
    checkFlag("api-url", () => assertIngestUrl(options.apiUrl as string, "API URL"));
  const token = INGEST_TOKEN_SOURCE.envName;
  try {
    assertIngestToken(options.ingestToken);
  } catch (error) {
    throw new UsageError(`${token}: ${error instanceof Error ? error.message : error}`);
  }
  if (options.ingestToken.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`${token}: must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (options.url !== undefined) checkFlag("url", () => emqxApiBaseUrl(options.url as string));
}

/** Wraps `io` so that no line can show the given secrets, whatever EMQX echoes back. */
function redacting(io: Io, secrets: (string | undefined)[]): Io {
  const hidden = secrets.filter((secret): secret is string => Boolean(secret));
  const clean = (line: string) => hidden.reduce((text, secret) => text.replaceAll(secret, "***"), line);
  return { out: (line) => io.out(clean(line)), err: (line) => io.err(clean(line)) };
}

/** Every definition, less the API over MQTT when no API URL was given. */
function selectedDefinitions(values: RenderValues): Definitions {
  return values.apiUrl === undefined ? withoutApiRequests(DEFINITIONS) : DEFINITIONS;
}

function renderedDefinitions(values: RenderValues): Definitions {
  return JSON.parse(render(JSON.stringify(selectedDefinitions(values)), values)) as Definitions;
}

function writeHocon(file: string, text: string, io: Io): number {
  try {
    // The file holds the ingest token, so only its owner may read it (mode only applies to new files).
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (error) {
    io.err(`cannot write ${file}: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  io.out(`wrote ${file}; load it with: emqx ctl conf load ${file}`);
  return 0;
}

function writeHoconFiles(options: Options, io: Io): number {
  const rules = options.hoconOut
    ? writeHocon(
        options.hoconOut,
        render(generatedFiles(selectedDefinitions(options))["bridge.hocon"] ?? "", options),
        io,
      )
    : 0;
  if (rules !== 0 || !options.accessHoconOut) return rules;
  return writeHocon(options.accessHoconOut, renderedAccessHocon(options), io);
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
export async function main(
  argv: string[],
  io: Io = consoleIo,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let options: Options | "help";
  try {
    options = parse(argv, env);
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
  if (options.apiUrl === undefined)
    safeIo.out("no --api-url: the API over MQTT (rule bridge_app_requests) is left out");
  if (options.hoconOut || options.accessHoconOut) return writeHoconFiles(options, safeIo);
  const client = new EmqxClient({
    url: options.url ?? "",
    key: options.key ?? "",
    secret: options.secret ?? "",
  });
  const targets = restTargets(renderedDefinitions(options));
  const access = options.rulesOnly ? undefined : renderedAccess(options);
  if (options.dryRun) {
    printRequests(client, targets, safeIo);
    if (access) printAccessRequests(client, access, safeIo);
    return 0;
  }
  const code = await importAll(client, targets, safeIo);
  // Access last, so that a rule EMQX rejects stops the import before logins and ACLs change.
  return code !== 0 || !access ? code : importAccess(client, access, safeIo);
}

if (isMain(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
