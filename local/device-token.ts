import { parseArgs } from "node:util";
import * as v from "valibot";
import { deriveDeviceToken, MIN_DEVICE_SECRET_LENGTH } from "../functions/core/device-token.ts";
import { SerialNumber } from "../functions/core/schemas/common.ts";
import { runningSession, SessionError } from "./session-file.ts";

const USAGE = `usage: npm run -s device-token -- --sn SN0001 [--generation N] [--secret S]
  --generation: the device's credential generation after a re-key (POST /v1/devices/{sn}/credentials); default 0
  the secret is, in order: --secret, the first of DEVICE_TOKEN_SECRETS, the running 'npm start'`;

/**
 * `npm run -s device-token -- --sn SN0001`: prints an HTTP device's bearer token, and only the token, on
 * stdout (`DEVICE_TOKEN=$(npm run -s device-token -- --sn SN0001)`). Problems go to stderr, exit 2.
 */
async function main(argv: string[], env: Record<string, string | undefined>): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sn: { type: "string" },
      generation: { type: "string" },
      secret: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  if (!values.sn) throw new UsageError(`--sn is required\n${USAGE}`);
  if (!v.is(SerialNumber, values.sn))
    throw new UsageError("--sn must be 1-64 characters of A-Z, a-z, 0-9, _ or -");
  const secret =
    values.secret ?? (env.DEVICE_TOKEN_SECRETS?.split(",")[0]?.trim() || (await runningStackSecret()));
  if (secret.length < MIN_DEVICE_SECRET_LENGTH) {
    throw new UsageError(
      `the secret must be at least ${MIN_DEVICE_SECRET_LENGTH} characters (as the ingest requires)`,
    );
  }
  return deriveDeviceToken(secret, values.sn, parseGeneration(values.generation));
}

function parseGeneration(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^(0|[1-9][0-9]{0,5})$/.test(value))
    throw new UsageError("--generation must be a whole number from 0");
  return Number(value);
}

/** The secret of the `npm start` running on this machine, so a fresh terminal needs no setup. */
async function runningStackSecret(): Promise<string> {
  const session = await runningSession().catch((error: unknown) => {
    if (!(error instanceof SessionError)) throw error;
    throw new UsageError(`no secret: pass --secret or set DEVICE_TOKEN_SECRETS; ${error.message}\n${USAGE}`);
  });
  if (!session.deviceTokenSecret) throw new UsageError("the running 'npm start' has HTTP devices disabled");
  return session.deviceTokenSecret;
}

class UsageError extends Error {}

try {
  process.stdout.write(`${await main(process.argv.slice(2), process.env)}\n`);
} catch (error) {
  process.stderr.write(`device-token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
