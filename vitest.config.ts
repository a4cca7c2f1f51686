import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The SDK warns that releases after January 2027 need Node 22; the lockfile pins one that runs on 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    fileParallelism: true,
    // At least two files at a time: Vitest's default (cores - 1) runs them one by one on CI's 2 cores, while
    // most of a stack file's time is waiting on the stand-ins, sockets and timers (97 files: 261 s two at a
    // time, 420-590 s one by one, on a 2-core machine).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Two projects, so `npx vitest run test/unit` (or `--project unit`) starts no Java: unit tests run on the
    // in-memory ports of test/support/memory; everything else shares one DynamoDB Local and SQS stand-in.
    projects: [
      // Threads start faster than forks; unit tests share no process state (no env, no servers).
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], pool: "threads" } },
      {
        extends: true,
        test: {
          name: "stack",
          include: ["test/**/*.test.ts"],
          exclude: ["test/unit/**", "**/node_modules/**"],
          globalSetup: ["test/support/global-setup.ts"],
          // Each worker process runs its files in turn and keeps its modules loaded: on CI's 2 cores,
          // loading the SDK, Hono and the stack again for every file took ~75 s of the run. Files share no state
          // beyond the stand-ins (each makes its own table, queues and servers, and closes them).
          isolate: false,
        },
      },
    ],
  },
});
