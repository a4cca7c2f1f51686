import { type ChildProcess, spawn } from "node:child_process";

/**
 * Runs "$@" in its own process group under a small sh, so that it never outlives this Node process:
 * - a signal to the sh (our `stop`) is passed on to the program, and the sh waits until it has ended;
 * - the sh watches the pipe on its stdin: when this process dies, however it dies (even SIGKILL), the
 *   pipe closes and the program gets SIGTERM, then SIGKILL 5 s later.
 */
const SUPERVISOR = `
exec 3<&0 0</dev/null
"$@" 3<&- &
child=$!
(read -r _ <&3; kill -TERM "$child"; sleep 5; kill -KILL "$child") 2>/dev/null &
watcher=$!
exec 3<&-
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
wait "$child"; code=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
kill "$watcher" 2>/dev/null
exit "$code"
`;

/** Exit code of the sh when it could not find the program (POSIX "command not found"). */
export const COMMAND_NOT_FOUND = 127;

export interface SupervisedProcess {
  child: ChildProcess;
  /** The program's pid is not known (it is the sh's child); this is the process group. */
  pgid: number | undefined;
  /** Set once the program has ended. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Set when the program could not be started at all. */
  spawnError?: Error;
  /** The last few KB of its stdout and stderr, interleaved. */
  outputTail(): string;
  stop(graceMs?: number): Promise<void>;
}

const TAIL_BYTES = 4096;

export function startSupervised(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): SupervisedProcess {
  // Windows has no sh: the program runs directly, and only the exit hook below protects against orphans.
  const child =
    process.platform === "win32"
      ? spawn(command, args, { cwd: options.cwd, stdio: "pipe" })
      : spawn("/bin/sh", ["-c", SUPERVISOR, "sh", command, ...args], {
          cwd: options.cwd,
          stdio: "pipe",
          detached: true,
        });
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const running: SupervisedProcess = {
    child,
    pgid: process.platform === "win32" ? undefined : child.pid,
    outputTail: () => tail,
    stop: (graceMs = 5_000) => stopSupervised(running, graceMs),
  };
  const killOnExit = () => killGroup(running, "SIGKILL");
  process.on("exit", killOnExit);
  child.once("error", (error) => {
    running.spawnError = error;
  });
  child.once("exit", (code, signal) => {
    running.exit = { code, signal };
    process.off("exit", killOnExit);
    child.stdin?.destroy();
  });
  return running;
}

/** SIGTERM to the sh, which passes it on and waits for the program; SIGKILL to the group after `graceMs`. */
async function stopSupervised(running: SupervisedProcess, graceMs: number): Promise<void> {
  if (running.exit || running.spawnError) return;
  const exited = new Promise<void>((resolve) => running.child.once("exit", () => resolve()));
  const force = setTimeout(() => killGroup(running, "SIGKILL"), graceMs);
  running.child.kill("SIGTERM");
  await exited;
  clearTimeout(force);
}

function killGroup(running: SupervisedProcess, signal: NodeJS.Signals): void {
  try {
    if (running.pgid) process.kill(-running.pgid, signal);
    else running.child.kill(signal);
  } catch {
    // Already gone.
  }
}
