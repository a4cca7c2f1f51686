/**
 * Loads the access configuration the stand-in enforces from the REST bodies `npm run emqx:import` applies
 * (emqx-rules/generated/authentication.json, authorization-settings.json, authorization-sources.json), so
 * the local broker checks exactly what a real EMQX would be given (docs/emqx.md §10, §11).
 */
import { join } from "node:path";
import * as v from "valibot";
import { INGEST_TOKEN_PLACEHOLDER, INGEST_URL_PLACEHOLDER } from "../../emqx-rules/render.ts";
import type { CompiledAclRule } from "./acl.ts";
import { parseAclFile } from "./acl-file.ts";
import { type HttpAuthenticatorConfig, HttpAuthenticatorSchema } from "./authn-http.ts";
import { fillPlaceholders, parseFile, readJson } from "./definitions.ts";

const SettingsSchema = v.looseObject({
  // EMQX 5.x defaults: an unmatched request is allowed, a denied publish is dropped (docs/emqx.md §11.3).
  no_match: v.optional(v.picklist(["allow", "deny"]), "allow"),
  deny_action: v.optional(v.picklist(["ignore", "disconnect"]), "ignore"),
});

const SourceSchema = v.looseObject({
  type: v.string(),
  enable: v.optional(v.boolean(), true),
  rules: v.optional(v.string()),
});

export interface AccessConfig {
  authenticator: HttpAuthenticatorConfig;
  noMatch: "allow" | "deny";
  denyAction: "ignore" | "disconnect";
  /** The enabled `file` sources' rules, in source order. */
  sources: CompiledAclRule[][];
}

export interface AccessFiles {
  dir: string;
  ingestUrl: string;
  ingestToken: string;
}

/** Reads and checks the three files; throws naming the file at fault, or a source type it cannot run. */
export async function loadAccessConfig(files: AccessFiles): Promise<AccessConfig> {
  const values = { [INGEST_URL_PLACEHOLDER]: files.ingestUrl, [INGEST_TOKEN_PLACEHOLDER]: files.ingestToken };
  const read = async <T extends v.GenericSchema>(file: string, schema: T) =>
    parseFile(file, fillPlaceholders(await readJson(join(files.dir, file)), values), schema);
  const authenticator = await read("authentication.json", HttpAuthenticatorSchema);
  const settings = await read("authorization-settings.json", SettingsSchema);
  const sources = await read("authorization-sources.json", v.array(SourceSchema));
  return {
    authenticator,
    noMatch: settings.no_match,
    denyAction: settings.deny_action,
    sources: sources.filter((source) => source.enable).map(fileRules),
  };
}

function fileRules(source: v.InferOutput<typeof SourceSchema>): CompiledAclRule[] {
  if (source.type !== "file" || source.rules === undefined) {
    throw new Error(
      `EMQX stand-in: authorization source "${source.type}" is not supported (only "file" with inline rules)`,
    );
  }
  return parseAclFile(source.rules);
}
