import { parseArgs } from "node:util";
import * as v from "valibot";
import { deriveDeviceToken, MIN_DEVICE_SECRET_LENGTH } from "../functions/core/device-token.ts";
import { SerialNumber } from "../functions/core/schemas/common.ts";

const USAGE =
  "usage: npm run -s device-token -- --sn SN0001 [--secret S]   (else the first of DEVICE_TOKEN_SECRETS)";

/**
 * `npm run -s device-token -- --sn SN0001 [--secret S]`: prints an HTTP device's bearer token, and only
 * the token, on stdout (`TOKEN=$(npm run -s device-token -- --sn SN0001)`). Problems go to stderr, exit 2.
 */
function main(argv: string[], env: Record<string, string | undefined>): string {
  const { values } = parseArgs({
    args: argv,
    options: { sn: { type: "string" }, secret: { type: "string" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  if (!values.sn) throw new UsageError(`--sn is required\n${USAGE}`);
  if (!v.is(SerialNumber, values.sn))
    throw new UsageError("--sn must be 1-64 characters of A-Z, a-z, 0-9, _ or -");
  const secret = values.secret ?? env.DEVICE_TOKEN_SECRETS?.split(",")[0]?.trim();
  if (!secret) throw new UsageError(`no secret: pass --secret or set DEVICE_TOKEN_SECRETS\n${USAGE}`);
  if (secret.length < MIN_DEVICE_SECRET_LENGTH) {
    throw new UsageError(
      `the secret must be at least ${MIN_DEVICE_SECRET_LENGTH} characters (as the ingest requires)`,
    );
  }
  return deriveDeviceToken(secret, values.sn);
}

class UsageError extends Error {}

try {
  process.stdout.write(`${main(process.argv.slice(2), process.env)}\n`);
} catch (error) {
  process.stderr.write(`device-token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
