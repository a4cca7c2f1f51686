import { connect, type Socket } from "node:net";
import { Worker } from "node:worker_threads";

/**
 * A port whose connections are never accepted, as behind a firewall that drops packets: a listening socket
 * with a backlog of one, owned by a worker thread whose event loop is blocked, so nothing accepts. Once the
 * backlog is full the kernel drops every further SYN, and a client's connect hangs until its own
 * connection timeout. (A TCP proxy cannot do this: it has accepted the connection already.)
 */
export async function startUnacceptingListener() {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `
    const { parentPort, workerData } = require("node:worker_threads");
    const server = require("node:net").createServer();
    server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      setImmediate(() => {
        Atomics.wait(workerData, 0, 0); // blocks the loop, so no connection is ever accepted
        server.close();
        process.exit(0);
      });
    });
    `,
    { eval: true, workerData: wake },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const url = `http://127.0.0.1:${port}`;
  const held = await fillBacklog(port);
  return {
    url,
    async stop() {
      for (const socket of held) socket.destroy();
      Atomics.store(wake, 0, 1);
      Atomics.notify(wake, 0);
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}

/** Opens connections until the kernel stops completing them: from then on every SYN is dropped. */
async function fillBacklog(port: number) {
  const sockets: Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    sockets.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once("connect", () => resolve(true));
      setTimeout(() => resolve(false), 500);
    });
    if (!connected) return sockets;
  }
  throw new Error("the listener's backlog never filled: connections are being accepted");
}
