import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import { type IPrincipal, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
} from "aws-cdk-lib/aws-lambda";
import { type ICommandHooks, LogLevel, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

/** The repository root: esbuild's working directory and where the lockfile is. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The Lambda entries (thin: they load secrets, read config and wire the apps). */
export const HANDLER_ENTRIES = {
  ingest: fileURLToPath(new URL("../../functions/ingest/handler.ts", import.meta.url)),
  api: fileURLToPath(new URL("../../functions/api/handler.ts", import.meta.url)),
  publisher: fileURLToPath(new URL("../../functions/publisher/handler.ts", import.meta.url)),
  commandDlq: fileURLToPath(new URL("../../functions/command-dlq/handler.ts", import.meta.url)),
  feed: fileURLToPath(new URL("../../functions/feed/handler.ts", import.meta.url)),
} as const;

export const RUNTIME = Runtime.NODEJS_24_X;

/** Lambda's Node major version ("24"): the bundles' esbuild target and the Node the benchmarks run on. */
export const RUNTIME_NODE_MAJOR = nodeMajor(RUNTIME.name);

function nodeMajor(runtime: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (!major) throw new Error(`not a Node.js runtime: ${runtime}`);
  return major;
}

/**
 * Packages the bundles take from a file of ours instead, relative to {@link PROJECT_ROOT}: the SDK's
 * default credential chain becomes the environment's credentials alone, which is where Lambda puts the
 * role's (functions/adapters/env-credentials.ts).
 */
export const BUNDLED_ALIASES = {
  "@aws-sdk/credential-provider-node": "./functions/adapters/env-credentials.ts",
} as const;

/**
 * How every handler is bundled: ESM (the handlers use top-level await for secrets), minified with
 * external source maps (read only when an error is printed: functions/adapters/lazy-source-maps.ts),
 * without esbuild's `keepNames` (nothing reads a function's or class's `name`: every error class of the
 * bridge names itself, as the SDK's do; keeping them cost the ingest's cold start 12-17 ms, ~10 %, of
 * `__name` calls and bytes, docs/decisions.md),
 * everything inside (the AWS SDK too: the versions the lockfile pins, not the runtime's) but the
 * credential chain ({@link BUNDLED_ALIASES}), locally with the esbuild in node_modules, never in Docker.
 * ESM output needs `require` for the CommonJS dependencies that call it (Node built-ins), hence the banner.
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  minify: true,
  sourceMap: true,
  keepNames: false,
  mainFields: ["module", "main"],
  bundleAwsSDK: true,
  forceDockerBundling: false,
  logLevel: LogLevel.WARNING,
  banner:
    "import { createRequire as __bridgeCreateRequire } from 'node:module'; const require = __bridgeCreateRequire(import.meta.url);",
  esbuildArgs: {
    "--alias": Object.entries(BUNDLED_ALIASES).map(([name, path]) => `${name}=${path}`),
  },
} as const;

/** The functions' log level unless `cdk -c logLevel=DEBUG` (or WARN, ERROR) says otherwise. */
export const DEFAULT_LOG_LEVEL = ApplicationLogLevel.INFO;

/**
 * The application log level from the context `logLevel`. Lambda passes it to the function as
 * `AWS_LAMBDA_LOG_LEVEL`, which Powertools' Logger takes as its level; at INFO a handled request writes
 * no line (one per request is DEBUG), errors and rejections always do.
 */
export function applicationLogLevel(scope: Construct): ApplicationLogLevel {
  const value: unknown = scope.node.tryGetContext("logLevel");
  if (value === undefined || value === null || value === "") return DEFAULT_LOG_LEVEL;
  const level = String(value).toUpperCase();
  if (!Object.values(ApplicationLogLevel).includes(level as ApplicationLogLevel))
    throw new Error(`logLevel must be one of ${Object.values(ApplicationLogLevel).join(", ")}`);
  return level as ApplicationLogLevel;
}

export interface BridgeFunctionProps {
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  reservedConcurrentExecutions?: number;
  /** Files copied next to `index.mjs` after bundling: name in the bundle → absolute path. */
  bundledFiles?: Record<string, string>;
}

/**
 * One handler as a `NodejsFunction` (Node 24, arm64) with its own role and log group: the role starts
 * empty (no AWS managed policy) and gets only what the caller grants, plus writing to its log group.
 */
export class BridgeFunction extends Construct {
  /** The handler's source file (test/infra/iam-actions.test.ts reads the SDK calls its bundle can make). */
  readonly entry: string;
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    super(scope, id);
    this.entry = props.entry;
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description}: its table, queue and secret grants only`,
    });
    this.function = new NodejsFunction(this, "Function", {
      entry: props.entry,
      handler: "handler",
      description: props.description,
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      bundling: {
        ...BUNDLING,
        mainFields: [...BUNDLING.mainFields],
        ...(props.bundledFiles ? { commandHooks: copyIntoBundle(props.bundledFiles) } : {}),
      },
      // No --enable-source-maps: Node would parse the map at every cold start (70-90 ms measured, see
      // README "Performance"); functions/adapters/lazy-source-maps.ts reads it at the first error instead.
      environment: props.environment,
      // JSON lines, filtered by Lambda: START/END/REPORT only at WARN, i.e. none on a good invocation.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: applicationLogLevel(this),
      systemLogLevelV2: SystemLogLevel.WARN,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
    });
    this.logGroup.grantWrite(this.role);
  }

  get grantPrincipal(): IPrincipal {
    return this.role;
  }

  /**
   * Lets the function read exactly this secret, and tells it where it is (`NAME_SECRET_ARN`). Only
   * GetSecretValue (Powertools' `getSecret`), not `grantRead`'s DescribeSecret, which no code sends.
   */
  useSecret(variable: string, secret: { secretArn: string }): void {
    this.function.addEnvironment(variable, secret.secretArn);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
    );
  }
}

/** Copies files into the bundle's directory once esbuild is done (local bundling: plain `cp`). */
function copyIntoBundle(files: Record<string, string>): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) =>
      Object.entries(files).map(([name, source]) => `cp "${source}" "${outputDir}/${name}"`),
  };
}
