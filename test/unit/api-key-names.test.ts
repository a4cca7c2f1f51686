/**
 * One rule for API key names (`ApiKeyName`): an app logs in with its key's name and sends requests on
 * `app/v1/{name}/requests`, so a name the requests topic cannot carry (a `.`) is refused when the key is
 * made, instead of giving a key that logs in and can never send a request.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { newApiKey } from "../../functions/core/api-keys.ts";
import { keyNameOfTopic, requestTopic } from "../../functions/core/app-requests/request.ts";
import { appAcl } from "../../functions/core/broker-access/acl.ts";

const run = promisify(execFile);
const REFUSAL = /API key name 'ops\.dashboard' must be 1-64 of A-Z a-z 0-9 _ - .*no '\.'/;

describe("API key names", () => {
  it("npm run api-key refuses a name with '.', saying why, before touching the table", async () => {
    // A table nobody serves: the name is refused before any call (the old check let it through).
    const flags = ["--table", "none", "--region", "us-east-1", "--endpoint", "http://127.0.0.1:9"];
    const failure = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "local/api-key.ts",
        "create",
        "--name",
        "ops.dashboard",
        "--scopes",
        "read",
        ...flags,
      ],
      { timeout: 60_000 },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(REFUSAL);
  }, 90_000);

  it("newApiKey refuses it too; a name of the topic's characters is created", () => {
    expect(() => newApiKey("ops.dashboard", ["read"])).toThrow(REFUSAL);
    expect(() => newApiKey("ops/dash", ["read"])).toThrow(/API key name 'ops\/dash'/);
    expect(newApiKey("ops-dashboard_2", ["read"]).record.name).toBe("ops-dashboard_2");
  });

  it("the names a key may have are the names the requests topic and the ACL take", () => {
    expect(keyNameOfTopic(requestTopic("ops-dashboard_2"))).toBe("ops-dashboard_2");
    expect(keyNameOfTopic(requestTopic("ops.dashboard"))).toBeUndefined();
    expect(appAcl("ops-dashboard_2", ["read"]).some((rule) => rule.permission === "allow")).toBe(true);
    // A dotted name from before the check gets no topic at all, rather than one it can never use.
    expect(appAcl("ops.dashboard", ["read"])).toEqual([{ permission: "deny", action: "all", topics: ["#"] }]);
  });
});
