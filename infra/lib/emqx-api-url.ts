import { Fn, Token } from "aws-cdk-lib";
import { emqxApiBaseUrl } from "../../emqx-rules/emqx-api.ts";

/**
 * What the `EmqxApiUrl` parameter accepts: the listener, with or without `/api/v5` and a trailing `/`
 * (`npm run emqx:import -- --url` takes the same). No query, no fragment, no spaces.
 */
export const EMQX_API_URL_PATTERN = "^https?://[^/\\s?#]+(/[^\\s?#]*)?$";

/**
 * The publisher's EMQX_API_URL, always `<listener>/api/v5`. A literal is checked and normalised now; a
 * deploy-time value (the CfnParameter) is normalised by CloudFormation: cut at `/api/v5`, add `/api/v5`,
 * and fold the `//api/v5` a trailing `/` leaves.
 */
export function emqxApiUrlForPublisher(url: string): string {
  if (!Token.isUnresolved(url)) return emqxApiBaseUrl(url);
  const base = Fn.select(0, Fn.split("/api/v5", url));
  const withApi = Fn.join("", [base, "/api/v5"]);
  return Fn.join("/api/v5", Fn.split("//api/v5", withApi));
}
