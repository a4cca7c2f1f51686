/**
 * MQTT topic names and filters (MQTT 3.1.1 §4.7), as EMQX checks them.
 */

/** The system topics EMQX keeps away from rules (`ignore_sys_message = true`, docs/emqx.md §3.2). */
export function isSysTopic(topic: string): boolean {
  return topic.startsWith("$SYS/");
}

/** Why `name` is not a valid topic name (no wildcards), or `undefined` when it is. */
export function topicNameError(name: string): string | undefined {
  if (name.length === 0) return "empty topic";
  if (/[+#]/.test(name)) return "wildcards are not allowed in a topic name";
  if (name.includes("\u0000")) return "NUL is not allowed in a topic";
  if (Buffer.byteLength(name) > 65_535) return "topic too long";
  return undefined;
}

/** Why `filter` is not a valid topic filter, or `undefined` when it is. */
export function topicFilterError(filter: string): string | undefined {
  if (filter.length === 0) return "empty topic filter";
  if (filter.includes("\u0000")) return "NUL is not allowed in a topic filter";
  const levels = filter.split("/");
  for (const [index, level] of levels.entries()) {
    if (level === "#" && index !== levels.length - 1) return "# must be the last level";
    if (level.length > 1 && /[+#]/.test(level)) return "+ and # must take a whole level";
  }
  return undefined;
}

/** Shared-subscription prefixes name a group, not part of the filter. */
function stripShare(filter: string): string {
  if (filter.startsWith("$queue/")) return filter.slice("$queue/".length);
  const shared = /^\$share\/[^/]+\/(.*)$/.exec(filter);
  return shared ? (shared[1] as string) : filter;
}

/** Whether topic name `topic` matches `filter`; a leading wildcard never matches a `$` topic. */
export function topicMatches(filter: string, topic: string): boolean {
  const pattern = stripShare(filter).split("/");
  const name = topic.split("/");
  if (topic.startsWith("$") && (pattern[0] === "+" || pattern[0] === "#")) return false;
  for (const [index, level] of pattern.entries()) {
    if (level === "#") return true;
    if (index >= name.length) return false;
    if (level !== "+" && level !== name[index]) return false;
  }
  return pattern.length === name.length;
}
