/**
 * The MQTT 5 reason codes EMQX's publish API answers per message that the publisher acts on
 * (docs/emqx.md §8.2, §8.3): the rest mean EMQX refused the command for what it is.
 */
export const REASON_CODE = {
  /** 0x10: nobody subscribes to the device's command topic; the command waits until it is online. */
  noMatchingSubscribers: 16,
  /** 0x83 `failed_to_dispatch`: subscribers matched but none could take it now; try again later. */
  failedToDispatch: 131,
} as const;
