/** A change was made against a version that is no longer the shadow's: the caller reads it again. */
export class ShadowVersionConflictError extends Error {
  override readonly name = "ShadowVersionConflictError";
  constructor(
    readonly sn: string,
    readonly expected: number,
    readonly current: number,
  ) {
    super(`the shadow of '${sn}' is at version ${current}, not ${expected}: read it again and retry`);
  }
}
