import type { AnswerPublisher } from "../../core/app-requests/index.ts";
import type { DevicePublisher } from "../../core/commands/ports.ts";
import { TransientError } from "../../core/errors.ts";

/** No subscriber (MQTT 5 reason code 16): the app is not listening now; the answer stays kept for a repeat. */
const NO_MATCHING_SUBSCRIBERS = 16;

/**
 * Answers published through EMQX's publish API at QoS 1, not retained (docs/emqx.md §8). A refused or
 * undispatchable publish is a `TransientError`: EMQX then retries the request, which finds its kept answer.
 */
export function emqxAnswerPublisher(emqx: DevicePublisher): AnswerPublisher {
  return {
    async publish(topic, payload) {
      const outcome = await emqx.publishBulk([
        { topic, payload, qos: 1, retain: false, properties: { user_properties: {} } },
      ]);
      if (outcome.rejected)
        throw new TransientError(`EMQX refused the answer on ${topic}: ${outcome.message}`);
      const [result] = outcome.results;
      if (result?.ok) return "published";
      if (result?.reasonCode === NO_MATCHING_SUBSCRIBERS) return "no_subscriber";
      throw new TransientError(`EMQX could not dispatch the answer on ${topic}: ${result?.message ?? "?"}`);
    },
  };
}
