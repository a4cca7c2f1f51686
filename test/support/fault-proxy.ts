import { connect, createServer, type Socket } from "node:net";

export type ProxyMode = "up" | "refuse" | "hang";

/**
 * A TCP proxy in front of a real service, to make real outages: `refuse` resets every connection,
 * `hang` accepts and never answers. Faults happen on the wire, so the SDK sees what it would in production.
 */
export async function startFaultProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  let mode: ProxyMode = "up";
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (mode === "refuse") return void client.resetAndDestroy();
    // Reads and drops what the client sends, so a client that gives up is seen closing its connection.
    if (mode === "hang") return void client.resume();
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Connections open through the proxy now (in `hang` mode: the clients' waiting requests). */
    open: () => sockets.size,
    /** Switches mode and drops open connections, as a crashed or restarted service would. */
    set(next: ProxyMode) {
      mode = next;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
