/** `INGEST_TOKENS_SECRET_ARN` names the secret whose value becomes `INGEST_TOKENS`. */
export const SECRET_ARN_SUFFIX = "_SECRET_ARN";

/** Reads one secret's string value (Secrets Manager on Lambda; tests pass their own). */
export type SecretFetcher = (secretId: string) => Promise<string>;

const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * Cold-start secret loading, before any config is read. For every variable `NAME_SECRET_ARN` with a
 * value, the secret is read once and:
 * - a plain string becomes `NAME` (`INGEST_TOKENS_SECRET_ARN` → `INGEST_TOKENS`);
 * - a JSON object sets each of its fields as a variable of that name (the EMQX credentials secret is
 *   `{"EMQX_API_KEY":"…","EMQX_API_SECRET":"…"}`, so key and secret always change together).
 * A secret value wins over a variable already set. Secrets are read in parallel; a failure names the
 * variable, never a value. Returns the names of the variables set.
 */
export async function loadSecretsIntoEnv(
  env: Record<string, string | undefined> = process.env,
  fetchSecret: SecretFetcher = fetchFromSecretsManager,
): Promise<string[]> {
  const sources = Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[0].endsWith(SECRET_ARN_SUFFIX) &&
      entry[0].length > SECRET_ARN_SUFFIX.length &&
      Boolean(entry[1]?.trim()),
  );
  const loaded = await Promise.all(
    sources.map(async ([variable, secretId]) => {
      try {
        return { variable, value: await fetchSecret(secretId.trim()) };
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new Error(`cannot read the secret named by ${variable}: ${reason}`);
      }
    }),
  );
  const set: string[] = [];
  for (const { variable, value } of loaded) {
    for (const [name, secret] of Object.entries(valuesOf(variable, value))) {
      env[name] = secret;
      set.push(name);
    }
  }
  return set;
}

function valuesOf(variable: string, value: string): Record<string, string> {
  const object = parseObject(value);
  if (!object) return { [variable.slice(0, -SECRET_ARN_SUFFIX.length)]: value };
  const values: Record<string, string> = {};
  for (const [name, field] of Object.entries(object)) {
    if (!ENV_NAME.test(name) || name.endsWith(SECRET_ARN_SUFFIX) || typeof field !== "string") {
      throw new Error(
        `the JSON secret named by ${variable} may only hold string fields named like variables (field "${name}")`,
      );
    }
    values[name] = field;
  }
  return values;
}

function parseObject(value: string): Record<string, unknown> | undefined {
  if (!value.trimStart().startsWith("{")) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function fetchFromSecretsManager(secretId: string): Promise<string> {
  // Loaded only when a secret is configured: the Secrets Manager client and Powertools Parameters are
  // most of a cold start's module init, and a function run from plain variables (locally) needs neither.
  const { getSecret } = await import("@aws-lambda-powertools/parameters/secrets");
  // Read once per cold start: nothing else asks again, so the cache age does not matter.
  const value = await getSecret(secretId, { maxAge: 3600 });
  if (typeof value !== "string") throw new Error("the secret has no string value");
  return value;
}
