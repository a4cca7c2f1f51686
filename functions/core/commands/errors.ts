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

/** EMQX refused the API key (401/403): a configuration error, retried and logged loudly. */
export class EmqxAuthError extends Error {
  override readonly name = "EmqxAuthError";
}
