import { createServer, request } from "node:http";

/**
 * An HTTP proxy in front of DynamoDB Local that answers a share of requests the way DynamoDB does when a
 * table is throttled (400 `ThrottlingException`), so the SDK's own retry and backoff run for real.
 */
export async function startThrottleProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  let share = 0;
  let throttled = 0;
  const server = createServer((req, res) => {
    if (Math.random() < share) {
      throttled++;
      req.resume();
      res.writeHead(400, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "throttle" });
      res.end(
        JSON.stringify({
          __type: "com.amazonaws.dynamodb.v20120810#ThrottlingException",
          message: "Rate of requests exceeds the allowed throughput.",
        }),
      );
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Share of requests (0..1) answered as throttled from now on. */
    throttle(next: number) {
      share = next;
    },
    throttledCount: () => throttled,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
