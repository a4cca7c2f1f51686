import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { Aedes } from "aedes";
import { createWebSocketStream, WebSocketServer } from "ws";

export interface MqttBroker {
  broker: Aedes;
  mqttUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** An aedes MQTT broker with a TCP listener and a WebSocket listener (path /mqtt, like EMQX). */
export async function startBroker(options: { host?: string; port?: number; wsPort?: number } = {}) {
  const host = options.host ?? "127.0.0.1";
  const broker = await Aedes.createBroker();
  // TCP_NODELAY on every connection, as EMQX's listeners default to (`tcp_options.nodelay`, docs/emqx.md §9.2a):
  // with Nagle, a PUBACK followed by a small PUBLISH waits on the peer's delayed ACK (~40 ms each time).
  const tcp = createServer({ noDelay: true }, broker.handle);
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, path: "/mqtt" });
  wss.on("connection", (socket, request) => broker.handle(createWebSocketStream(socket), request));
  const port = await listen(tcp, options.port ?? 0, host);
  const wsPort = await listen(http, options.wsPort ?? 0, host);
  const stop = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await Promise.all([close(tcp), close(http)]);
  };
  return {
    broker,
    mqttUrl: `mqtt://${host}:${port}`,
    wsUrl: `ws://${host}:${wsPort}/mqtt`,
    stop,
  } satisfies MqttBroker;
}

function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

function close(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    (server as HttpServer).closeAllConnections?.();
    server.close(() => resolve());
  });
}
