import { fromEnv } from "@aws-sdk/credential-provider-env";

/**
 * The SDK clients' credential provider in the Lambda bundles, which esbuild puts in place of
 * `@aws-sdk/credential-provider-node` (infra/lib/bridge-function.ts, `BUNDLED_ALIASES`).
 *
 * Lambda hands a function its role's credentials in the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the first source of the SDK's default chain. The
 * rest of that chain (SSO, profiles, processes, web identity, container and instance metadata) and the
 * STS and SSO clients it needs are 120-136 KiB that every cold start compiled and never ran: 17-47 ms of
 * the ingest's init (README "Performance"). The local stack and the tests run the sources, with the full
 * chain. SnapStart would hand credentials through the container endpoint instead, so the stack turns it
 * on for no function (test/infra/stack.test.ts).
 *
 * @example
 * // What every client's `credentialDefaultProvider` resolves to in a bundle:
 * const credentials = await defaultProvider()();
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
