import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { bearerAuth } from "../../functions/http/bearer-auth.ts";
import { exceptUnder } from "../../functions/http/except-under.ts";

const TOKEN = "unit-token-0123456789abcdef";

function app() {
  const hono = new Hono();
  hono.use("*", exceptUnder("/v1/devices/", bearerAuth([TOKEN])));
  hono.all("*", (c) => c.text(`reached ${c.req.path}`));
  return hono;
}

describe("exceptUnder: the ingest's bearer check everywhere but the devices' own folder", () => {
  it("lets a device path through without the bearer token (the device routes check their own)", async () => {
    const answer = await app().request("/v1/devices/SN0001/evt", { method: "POST" });
    expect(answer.status).toBe(200);
  });

  it.each(["/emqx/rule-events", "/v1/devices", "/v1/devicesX/SN0001/evt", "/v1/devices%2FSN0001/evt"])(
    "asks for the bearer token on %s",
    async (path) => {
      const without = await app().request(`http://ingest.local${path}`, { method: "POST" });
      expect(without.status).toBe(401);
      const withToken = await app().request(`http://ingest.local${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(withToken.status).toBe(200);
    },
  );

  it("asks for it on a path that climbs out of the folder (URL parsing resolves the dots first)", async () => {
    const answer = await app().request("http://ingest.local/v1/devices/SN0001/../../emqx/rule-events", {
      method: "POST",
    });
    expect(answer.status).toBe(401);
  });

  it("refuses a prefix that is not a folder, which would also skip /v1/devicesX", () => {
    expect(() => exceptUnder("/v1/devices", bearerAuth([TOKEN]))).toThrow(/ending in '\/'/);
  });
});
