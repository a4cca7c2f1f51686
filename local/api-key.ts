import { parseArgs } from "node:util";
import { DynamoDbApiKeyStore } from "../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../functions/adapters/dynamodb/client.ts";
import { apiKeyNameProblem, newApiKey, SCOPES, type Scope } from "../functions/core/api-keys.ts";
import { readSession } from "./session-file.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const USAGE = `usage: npm run api-key -- <create|list|revoke> [options]
  create --name NAME --scopes read,commands,admin   prints the new key once; only its SHA-256 is stored
  list                                              names, scopes, creation and revocation times
  revoke --name NAME                                revokes every key with that name (effective within 30 s)
  --table NAME --region REGION [--endpoint URL]     the deployed table (default: the running 'npm start')`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scopes: { type: "string" },
      table: { type: "string" },
      region: { type: "string" },
      endpoint: { type: "string" },
    },
  });
  const store = await openStore(values);
  const command = positionals[0];
  if (command === "create") return create(store, values.name, values.scopes);
  if (command === "list") return list(store);
  if (command === "revoke") return revoke(store, values.name);
  console.error(USAGE);
  return 2;
}

async function openStore(flags: { table?: string; region?: string; endpoint?: string }) {
  if (flags.table) {
    const client = createDynamoDbClient({
      ...(flags.region ? { region: flags.region } : {}),
      ...(flags.endpoint ? { endpoint: flags.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
    });
    return new DynamoDbApiKeyStore(client, flags.table);
  }
  const session = await readSession();
  if (!session) throw new Error("no --table given and no running 'npm start' found");
  const client = createDynamoDbClient({
    region: "us-east-1",
    endpoint: session.dynamodbEndpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  return new DynamoDbApiKeyStore(client, session.tableName);
}

async function create(store: DynamoDbApiKeyStore, name: string | undefined, scopes: string | undefined) {
  const parsed = (scopes ?? "").split(",").filter(Boolean);
  if (!name) return fail("--name is required");
  const problem = apiKeyNameProblem(name);
  if (problem) return fail(problem);
  if (parsed.length === 0 || !parsed.every((s) => (SCOPES as readonly string[]).includes(s))) {
    return fail(`--scopes must be a comma-separated list of ${SCOPES.join(", ")}`);
  }
  const { key, record } = newApiKey(name, parsed as Scope[]);
  await store.put(record);
  console.error(`created key '${name}' with scopes ${parsed.join(", ")}; it is shown once:`);
  console.log(key);
  return 0;
}

async function list(store: DynamoDbApiKeyStore) {
  const keys = await store.list();
  console.log("| name | scopes | created | revoked |\n|---|---|---|---|");
  for (const k of keys)
    console.log(`| ${k.name} | ${k.scopes.join(",")} | ${k.createdAt} | ${k.revokedAt ?? ""} |`);
  return 0;
}

async function revoke(store: DynamoDbApiKeyStore, name: string | undefined) {
  if (!name) return fail("--name is required");
  const count = await store.revoke(name);
  console.log(`revoked ${count} key(s) named '${name}'`);
  return count > 0 ? 0 : 1;
}

function fail(message: string): number {
  console.error(`${message}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error) => {
    console.error(`api-key failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  });
