import { startFauxqs } from "fauxqs";

export interface SqsLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/** fauxqs, an SQS stand-in, bound to loopback only. */
export async function startSqsLocal(port = 0): Promise<SqsLocal> {
  const server = await startFauxqs({ port, host: "127.0.0.1", logger: false });
  return { endpoint: server.address, stop: () => server.stop() };
}
