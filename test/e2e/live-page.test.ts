/**
 * The live fleet page in a real browser: Debian's chromium (apt-get install chromium; `.ci/run` installs
 * it), driven by playwright-core, which downloads nothing. The page is served by the local stack's API,
 * logs in to the stack's broker over WebSocket with an app key, and follows the fleet feed while a
 * simulated device connects, punches and leaves. The screenshot is kept in test-results/live-page.png.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbApiKeyStore } from "../../functions/adapters/dynamodb/api-key-store.ts";
import { createDynamoDbClient, LOCAL_CREDENTIALS } from "../../functions/adapters/dynamodb/client.ts";
import { newApiKey } from "../../functions/core/api-keys.ts";
import { SimulatedDevice } from "../../local/simulator/device.ts";
import type { LocalStack } from "../../local/stack.ts";
import { startTestStack } from "../support/local-stack.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTEFACTS = new URL("../../test-results/", import.meta.url).pathname;
/** Without a browser the test is skipped on a workstation, but fails in CI, where `.ci/run` installs one. */
const inCi = ["true", "1"].includes((process.env.CI ?? "").toLowerCase());
const skip = !existsSync(CHROMIUM) && !inCi;
if (skip)
  console.warn(`live-page.test.ts skipped: no ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
/** How long the page may take to show what the feed carries (rule → ingest → SNS → feed → broker → page). */
const SHOWN_WITHIN_MS = 20_000;

let stack: LocalStack;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
let context: BrowserContext;
let page: Page;
let profile: string;
/** Console errors, uncaught exceptions and CSP violations of the page: none is expected. */
const problems: string[] = [];
const app = newApiKey("live-e2e", ["read", "commands"]);

beforeAll(async () => {
  if (skip) return;
  stack = await startTestStack();
  dynamodb = createDynamoDbClient({
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    endpoint: stack.endpoints.dynamodb,
  });
  await new DynamoDbApiKeyStore(dynamodb, stack.tableName).put(app.record);
  profile = mkdtempSync(join(tmpdir(), "live-page-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  dynamodb?.destroy();
  await stack?.stop();
});

/** The text of the device's state cell once it reads `state`. */
async function deviceState(sn: string, state: "online" | "offline") {
  const cell = page.locator(`#devices tr[data-sn="${sn}"] td[data-state="${state}"]`);
  await cell.waitFor({ timeout: SHOWN_WITHIN_MS });
  return cell.textContent();
}

describe.skipIf(skip)("the live fleet page, in Chromium", () => {
  it("is served with a CSP that allows only this API's scripts and the stack's broker", async () => {
    const response = await page.goto(`${stack.endpoints.api}/v1/live`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${stack.endpoints.mqttWs}`);
    expect(await page.locator("#broker").inputValue()).toBe(stack.endpoints.mqttWs);
    // The key is never part of the page.
    expect(await page.content()).not.toContain(app.key);
  });

  it("logs in to the broker with the key name and key pasted in", async () => {
    await page.fill("#key-name", app.record.name);
    await page.fill("#key", app.key);
    await page.click("#connect");
    await page.locator("#status", { hasText: /: live\.$/ }).waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.textContent("#status")).toBe(`Connected as ${app.record.name}: live.`);
  });

  it("shows a device coming online, its punch, and the device going offline", async () => {
    const device = new SimulatedDevice("LIVE-1", stack.endpoints.mqtt);
    await device.connect();
    expect(await deviceState("LIVE-1", "online")).toBe("online");
    await device.punch({
      payload: JSON.stringify({ user_id: "4711", att_time: "2026-12-02 08:15:00", att_state: 0 }),
      duplicated: false,
    });
    const punch = page.locator("#punches tbody tr", { hasText: "4711" });
    await punch.waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await punch.locator("td").nth(1).textContent()).toBe("LIVE-1");
    await device.disconnect();
    expect(await deviceState("LIVE-1", "offline")).toBe("offline");
    mkdirSync(ARTEFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTEFACTS, "live-page.png"), fullPage: true });
    expect(problems).toEqual([]);
  });

  it("sends a command through the API over MQTT and shows its status moving to acked", async () => {
    const device = new SimulatedDevice("LIVE-2", stack.endpoints.mqtt);
    await device.connect();
    await deviceState("LIVE-2", "online");
    await page.fill("#command-sn", "LIVE-2");
    await page.fill("#command-op", "ping");
    await page.click("#command-form button[type=submit]");
    const answer = page.locator("#command-answer", { hasText: /^202 command \S+ queued$/ });
    await answer.waitFor({ timeout: SHOWN_WITHIN_MS });
    const id = (await answer.textContent())?.split(" ")[2] ?? "";
    // The feed brings the statuses after the answer: sent, then acked once the device answers.
    const row = page.locator(`#commands tr[data-command-id="${id}"]`);
    await row.locator('td[data-status="acked"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await row.locator("td").nth(1).textContent()).toBe("LIVE-2");
    expect(device.received).toEqual([id]);
    await page.screenshot({ path: join(ARTEFACTS, "live-page-command.png"), fullPage: true });
    await device.disconnect();
    expect(problems).toEqual([]);
  });
});
