import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * What a running `npm start` tells other local tools (the simulator, `npm run device-token`): its
 * endpoints and the random keys of this run. Git-ignored, readable by this user only, deleted on a clean
 * stop. `BRIDGE_SESSION_FILE` moves it (tests use their own, so they never touch a developer's).
 */
export const SESSION_FILE =
  process.env.BRIDGE_SESSION_FILE || fileURLToPath(new URL("../.local-data/session.json", import.meta.url));

export interface LocalSession {
  /** The `npm start` process; a session whose process is gone is stale. */
  pid: number;
  apiUrl: string;
  apiKey: string;
  ingestUrl: string;
  /** The bearer token EMQX's HTTP action sends to the ingest (`npm run -s local-secret -- ingest-token`). */
  ingestToken: string;
  /** The EMQX stand-in's API key and secret, for its REST API (`npm run -s local-secret -- emqx-api`). */
  emqxApiKey: string;
  emqxApiSecret: string;
  /** The secret HTTP devices' tokens are derived from (`npm run device-token`). */
  deviceTokenSecret?: string;
  mqttUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  eventsQueue: string;
}

export async function writeSession(session: LocalSession): Promise<void> {
  await mkdir(dirname(SESSION_FILE), { recursive: true });
  await writeFile(SESSION_FILE, JSON.stringify(session, null, 2), { mode: 0o600 });
}

export async function readSession(): Promise<LocalSession | undefined> {
  try {
    return JSON.parse(await readFile(SESSION_FILE, "utf8")) as LocalSession;
  } catch {
    return undefined;
  }
}

/** True while the process that wrote the session runs (a killed `npm start` leaves its file behind). */
export function isSessionAlive(session: LocalSession): boolean {
  if (!session.pid) return true;
  try {
    process.kill(session.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The session of the `npm start` running on this machine, for tools a fresh terminal runs; throws
 * {@link SessionError} (a message for the user) when there is none or it is left over.
 */
export async function runningSession(): Promise<LocalSession> {
  const session = await readSession();
  if (!session) throw new SessionError(`no 'npm start' is running (no ${SESSION_FILE})`);
  if (!isSessionAlive(session)) {
    throw new SessionError(
      `${SESSION_FILE} is left over from an 'npm start' (pid ${session.pid}) that is no longer running; start it again`,
    );
  }
  return session;
}

export class SessionError extends Error {}

export const removeSession = () => rm(SESSION_FILE, { force: true });
