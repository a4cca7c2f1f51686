import fc from "fast-check";
import type { CaseSpec, FuzzCase } from "./cases.ts";
import { validRecord } from "./payloads.ts";

/**
 * Placeholders the harness replaces with real secrets: `{EMQX}` the ingest token, `{DEVICE}` the token
 * of the case's device, `{OTHER}` another device's token, `{API}` an admin API key.
 */
const badHeader = fc.oneof(
  fc.constantFrom<string | undefined>(
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "Basic dGVzdDp0ZXN0",
    "Bearer wrong-token-0123456789",
    "Token {EMQX}",
    "Bearer {EMQX}x",
    "Bearer x{EMQX}",
    "Bearer {EMQX} {EMQX}",
    "Bearer {OTHER}",
    "Bearer {API}",
    `Bearer ${"a".repeat(8_000)}`,
    "Bearer \u00ff\u00fe",
    "Bearer\t{EMQX}x",
  ),
  fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((s) => `Bearer ${s}`),
);

const ingestTargets = (sn: string, body: string) => [
  { path: "/emqx/rule-events", body, quarantined: false },
  { path: `/v1/devices/${sn}/evt`, body: JSON.stringify(validRecord()), quarantined: false },
  { path: `/v1/devices/${sn}/st`, body: '{"online":true}', quarantined: false },
];

const apiTargets = (sn: string) =>
  [
    { method: "GET", path: "/v1/devices" },
    { method: "GET", path: `/v1/devices/${sn}` },
    { method: "GET", path: `/v1/devices/${sn}/attendance` },
    { method: "POST", path: `/v1/devices/${sn}/commands`, body: '{"op":"ping"}' },
    { method: "GET", path: "/v1/quarantine" },
    { method: "POST", path: "/v1/replay", body: '{"from":"2026-11-01","to":"2026-11-02"}' },
  ] as const;

/** Wrong, missing or misplaced credentials: 401 everywhere, and nothing of theirs in the quarantine. */
export const credentialCases: fc.Arbitrary<CaseSpec> = fc.oneof(
  fc.tuple(badHeader, fc.nat(2)).map(([header, which]) => (sn: string): FuzzCase => {
    const target = ingestTargets(sn, "{}")[which] as ReturnType<typeof ingestTargets>[number];
    return {
      family: "ingest.auth",
      target: "ingest",
      method: "POST",
      auth: { kind: "header", value: header },
      expect: "reject",
      ...target,
    };
  }),
  fc.tuple(badHeader, fc.nat(5)).map(([header, which]) => (sn: string): FuzzCase => {
    const target = apiTargets(sn)[which] as ReturnType<typeof apiTargets>[number];
    return {
      family: "api.auth",
      target: "api",
      method: target.method,
      path: target.path,
      ...("body" in target ? { body: target.body } : {}),
      // A real API key would be valid here; the ingest token is as wrong as any other.
      auth: { kind: "header", value: header?.replaceAll("{API}", "{EMQX}") },
      expect: "reject",
      quarantined: false,
    };
  }),
  // The EMQX token on a device route, a device token on EMQX's route.
  fc.constant(
    (sn: string): FuzzCase => ({
      family: "ingest.auth",
      target: "ingest",
      method: "POST",
      path: `/v1/devices/${sn}/evt`,
      body: JSON.stringify(validRecord()),
      auth: { kind: "header", value: "Bearer {EMQX}" },
      expect: "reject",
      quarantined: false,
    }),
  ),
  fc.constant(
    (): FuzzCase => ({
      family: "ingest.auth",
      target: "ingest",
      method: "POST",
      path: "/emqx/rule-events",
      body: "{}",
      auth: { kind: "header", value: "Bearer {DEVICE}" },
      expect: "reject",
      quarantined: false,
    }),
  ),
);
