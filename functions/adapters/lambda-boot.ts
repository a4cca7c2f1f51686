import type * as v from "valibot";
import { awsClients, createAwsDeps } from "./aws-deps.ts";
import type { BaseConfig } from "./config.ts";
import { countingCommandStore } from "./counting-command-store.ts";
import { bootWithoutAws, type LambdaBootOptions } from "./lambda-boot-base.ts";

export type { LambdaBootOptions } from "./lambda-boot-base.ts";
export { lambdaEntry } from "./lambda-entry.ts";

/**
 * The cold start every Lambda entry shares, in the order it must happen: stack traces mapped first,
 * then the secrets into the environment, then the config read from it, then the logger, the metrics
 * (functions/adapters/lambda-boot-base.ts) and every AWS port, the command store counting status changes.
 * The SDK clients are returned too, so a port the entry adds shares them instead of making another.
 */
export async function bootLambda<S extends v.GenericSchema<unknown, BaseConfig>>(
  schema: S,
  options: LambdaBootOptions,
) {
  const { config, logger, metrics } = await bootWithoutAws(schema, options);
  const clients = awsClients(config);
  const aws = createAwsDeps(config, clients);
  const deps = { ...aws, commands: countingCommandStore(aws.commands, metrics) };
  return { config, logger, metrics, deps, clients };
}
