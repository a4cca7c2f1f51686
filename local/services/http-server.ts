import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export interface RunningHttpServer {
  url: string;
  stop(): Promise<void>;
}

/** Serves a Hono app's `fetch` with @hono/node-server, the way the Lambda adapter serves it in AWS. */
export function serveApp(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { host?: string; port?: number } = {},
): Promise<RunningHttpServer> {
  const hostname = options.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: options.port ?? 0, hostname }, (info: AddressInfo) => {
      resolve({ url: `http://${hostname}:${info.port}`, stop: () => close(server as Server) });
    });
    server.once("error", reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
