import type { SoakStack } from "../support/soak-stack.ts";

/** One way to break the stack, and how to heal it. */
export interface Fault {
  name: string;
  apply(stack: SoakStack): void;
  heal(stack: SoakStack): void;
}

export const FAULTS: Fault[] = [
  {
    name: "dynamodb stopped",
    apply: (s) => s.wires.dynamodb.set("refuse"),
    heal: (s) => s.wires.dynamodb.set("up"),
  },
  {
    name: "dynamodb hanging",
    apply: (s) => s.wires.dynamodb.set("hang"),
    heal: (s) => s.wires.dynamodb.set("up"),
  },
  {
    name: "dynamodb throttled",
    apply: (s) => s.wires.throttle.throttle(0.6),
    heal: (s) => s.wires.throttle.throttle(0),
  },
  { name: "sqs refusing", apply: (s) => s.wires.sqs.set("refuse"), heal: (s) => s.wires.sqs.set("up") },
  { name: "sqs black-holed", apply: (s) => s.wires.sqs.set("hang"), heal: (s) => s.wires.sqs.set("up") },
  {
    name: "ingest unreachable",
    apply: (s) => s.wires.ingest.set("refuse"),
    heal: (s) => s.wires.ingest.set("up"),
  },
  { name: "ingest hanging", apply: (s) => s.wires.ingest.set("hang"), heal: (s) => s.wires.ingest.set("up") },
  {
    name: "emqx api 503",
    apply: (s) => s.emqx.setPublishFailure(503),
    heal: (s) => s.emqx.setPublishFailure(null),
  },
  {
    name: "emqx api down",
    apply: (s) => s.wires.emqxApi.set("refuse"),
    heal: (s) => s.wires.emqxApi.set("up"),
  },
];

/** The fault that outlasts the commands queue's receive budget; injected once per run, whatever the dice say. */
export const LONG_EMQX_OUTAGE = "emqx api down (longer than the receive budget)";

export interface FaultPlan {
  /** Length of one fault, ms: random in [min, max]. */
  durationMs: [number, number];
  /** Healthy time between two faults, ms. */
  gapMs: [number, number];
  /** How long the one long EMQX API outage lasts (more than 10 receives × the backoff cap). */
  longOutageMs: number;
}

/** Injects faults one after another at random until `stop()`; counts them by name. */
export function startFaults(stack: SoakStack, plan: FaultPlan, random = Math.random) {
  const counts: Record<string, number> = {};
  let current = "none";
  let running = true;
  let wake: () => void = () => undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const between = ([min, max]: [number, number]) => min + random() * (max - min);
  const inject = async (fault: Fault, name: string, ms: number) => {
    current = name;
    counts[name] = (counts[name] ?? 0) + 1;
    fault.apply(stack);
    await sleep(ms);
    fault.heal(stack);
    current = "none";
  };
  const loop = (async () => {
    await sleep(between(plan.gapMs));
    const emqxDown = FAULTS.find((f) => f.name === "emqx api down") as Fault;
    if (running) await inject(emqxDown, LONG_EMQX_OUTAGE, plan.longOutageMs);
    // Every kind once per round, in random order, so a run of any length sees each of them.
    let bag: Fault[] = [];
    while (running) {
      await sleep(between(plan.gapMs));
      if (!running) break;
      if (bag.length === 0) bag = shuffled(FAULTS, random);
      const fault = bag.pop() as Fault;
      await inject(fault, fault.name, between(plan.durationMs));
    }
  })();
  return {
    current: () => current,
    counts,
    /** Ends the fault in progress at once and stops injecting. */
    async stop() {
      running = false;
      wake();
      await loop;
    },
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
