import { buildApp } from "fauxqs";

export interface SqsLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * fauxqs, an SQS stand-in. Built with `buildApp` rather than `startFauxqs`, which always binds 0.0.0.0:
 * the local stack listens on loopback only.
 */
export async function startSqsLocal(port = 0, bindHost = "127.0.0.1"): Promise<SqsLocal> {
  const app = buildApp({ logger: false, host: "localhost" });
  await app.listen({ port, host: bindHost });
  const address = app.server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return { endpoint: `http://${bindHost}:${actualPort}`, stop: () => app.close() };
}
