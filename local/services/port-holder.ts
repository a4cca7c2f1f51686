import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/** A process listening on a TCP port, as far as this machine lets us see it. */
export interface PortHolder {
  pid?: number;
  command?: string;
}

/**
 * Who listens on `port` (any address), or undefined when nobody does. On Linux this reads
 * /proc/net/tcp{,6} and /proc/<pid>/fd, so it also sees a listener on another address of the same port
 * (DynamoDB Local binds every address and would not notice one on 127.0.0.1). Elsewhere it falls back
 * to trying to bind the port on `host`.
 */
export async function portHolder(port: number, host: string): Promise<PortHolder | undefined> {
  const inodes = listeningInodes(port);
  if (inodes && inodes.size > 0) return processOwning(inodes) ?? {};
  return (await canBind(port, host)) ? undefined : {};
}

/** "port 8000 is taken by pid 1234 (java -jar DynamoDBLocal.jar ...)". */
export function describeHolder(port: number, holder: PortHolder): string {
  if (holder.pid === undefined) {
    return `port ${port} is already in use by another process (see: ss -ltnp 'sport = :${port}', or lsof -iTCP:${port} -sTCP:LISTEN)`;
  }
  const command = holder.command ? ` (${truncate(holder.command, 120)})` : "";
  return `port ${port} is already in use by pid ${holder.pid}${command}`;
}

/** Socket inodes listening on `port`; undefined when /proc/net is not readable (not Linux). */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readAny = false;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const localPort = Number.parseInt(fields[1]?.split(":")[1] ?? "", 16);
      // State 0A is LISTEN.
      if (localPort === port && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
    }
  }
  return readAny ? inodes : undefined;
}

/** The first process with an open fd on one of these socket inodes (only our own user's are readable). */
function processOwning(inodes: Set<string>): PortHolder | undefined {
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      if (!wanted.has(safeReadlink(`/proc/${entry}/fd/${fd}`))) continue;
      return { pid: Number(entry), command: commandLine(Number(entry)) };
    }
  }
  return undefined;
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return undefined;
  }
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
