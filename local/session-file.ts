import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * What a running `npm start` tells other local tools (the simulator): its endpoints and the random keys
 * of this run. Git-ignored, readable by this user only, deleted on a clean stop.
 */
export const SESSION_FILE = fileURLToPath(new URL("../.local-data/session.json", import.meta.url));

export interface LocalSession {
  apiUrl: string;
  apiKey: string;
  mqttUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  eventsQueue: string;
}

export async function writeSession(session: LocalSession): Promise<void> {
  await mkdir(new URL("../.local-data/", import.meta.url), { recursive: true });
  await writeFile(SESSION_FILE, JSON.stringify(session, null, 2), { mode: 0o600 });
}

export async function readSession(): Promise<LocalSession | undefined> {
  try {
    return JSON.parse(await readFile(SESSION_FILE, "utf8")) as LocalSession;
  } catch {
    return undefined;
  }
}

export const removeSession = () => rm(SESSION_FILE, { force: true });
