import { type LocalSession, runningSession, SessionError } from "./session-file.ts";

const SECRETS = {
  "ingest-token": (session) => session.ingestToken,
  "api-key": (session) => session.apiKey,
  "emqx-api": (session) => `${session.emqxApiKey}:${session.emqxApiSecret}`,
} satisfies Record<string, (session: LocalSession) => string>;

const USAGE = `usage: npm run -s local-secret -- ${Object.keys(SECRETS).join("|")}
  prints one secret of the running 'npm start', and only it, on stdout:
  ingest-token  the bearer token EMQX's HTTP action sends to the ingest
  api-key       the operations API's admin key of this run
  emqx-api      the EMQX stand-in API's key:secret (HTTP Basic)`;

/**
 * `npm run -s local-secret -- api-key`: one secret of the running local stack, for a command line that
 * reads it (`-H "authorization: Bearer $(npm run -s local-secret -- api-key)"`), so the banner never
 * prints secrets and they stay out of the terminal's scrollback and the shell's history.
 */
async function main(argv: string[]): Promise<string> {
  const name = argv[0] as keyof typeof SECRETS | undefined;
  if (argv.length !== 1 || !name || !Object.hasOwn(SECRETS, name)) throw new Error(USAGE);
  const session = await runningSession();
  // A session file written by an older `npm start` still running lacks the newer fields.
  if (!session.ingestToken || !session.emqxApiSecret)
    throw new SessionError("the running 'npm start' predates local-secret: stop it and start it again");
  return SECRETS[name](session);
}

try {
  process.stdout.write(`${await main(process.argv.slice(2))}\n`);
} catch (error) {
  process.stderr.write(`local-secret: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
}
