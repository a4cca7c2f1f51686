/**
 * Runs rule events through the rules: every matching rule posts `SELECT *` plus `metadata.rule_id` to each of
 * its actions, as EMQX does with an unset action body (docs/emqx.md §3.1, §4.1).
 */
import type { CompiledRule } from "./definitions.ts";
import type { HttpDelivery } from "./http-action.ts";
import { selects } from "./sql.ts";
import type { RuleEvent } from "./types.ts";

export class RuleEngine {
  readonly #rules: CompiledRule[];
  readonly #delivery: HttpDelivery;
  #matched = 0;

  constructor(rules: CompiledRule[], delivery: HttpDelivery) {
    this.#rules = rules;
    this.#delivery = delivery;
  }

  get matched(): number {
    return this.#matched;
  }

  /** Whether any rule listens to `$events/...` topic `source`, so unused events cost nothing. */
  wants(source: string): boolean {
    return this.#rules.some((rule) => rule.sql.eventTopics.some((topic) => topic === source));
  }

  run(event: RuleEvent): void {
    for (const rule of this.#rules) {
      if (!selects(rule.sql, event)) continue;
      this.#matched++;
      const body = JSON.stringify({ ...event.columns, metadata: { rule_id: rule.id } });
      const clientid = String(event.columns.clientid);
      const label = `${rule.id} ${event.event} ${String(event.columns.id ?? event.columns.clientid)}`;
      for (const action of rule.actions)
        this.#delivery.enqueue({ action, pickKey: event.pickKey, clientid, body, label });
    }
  }
}
