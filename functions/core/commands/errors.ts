/** The same command id was used with a different body. */
export class CommandConflictError extends Error {
  override readonly name = "CommandConflictError";
  constructor(
    readonly sn: string,
    readonly id: string,
  ) {
    super(`command '${id}' of device '${sn}' exists with a different body`);
  }
}

/**
 * EMQX's API is set up wrong from the bridge's side (a refused key, a URL without the publish API): not an
 * outage, so its commands are retried like any error and logged loudly, but never kept back from the DLQ.
 */
export class EmqxConfigurationError extends Error {
  override readonly name: string = "EmqxConfigurationError";
}

/** EMQX refused the API key (401/403). */
export class EmqxAuthError extends EmqxConfigurationError {
  override readonly name = "EmqxAuthError";
}
