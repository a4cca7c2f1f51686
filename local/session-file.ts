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

export const removeSession = () => rm(SESSION_FILE, { force: true });
