/**
 * `fields` without those that are `undefined`, for the optional fields of a view (API answers, events):
 * an absent value is left out of the object, not carried as a key holding `undefined`, so what a reader
 * compares or stores has exactly the keys the JSON will have.
 *
 * @example
 * return { id: command.id, ...definedFields({ reason: command.reason, result: command.result }) };
 */
export function definedFields<T extends object>(fields: T): DefinedFields<T> {
  // Every key kept is one of T's, holding a value of its type that is not undefined.
  return Object.fromEntries(
    Object.entries(fields).filter(([, value]) => value !== undefined),
  ) as DefinedFields<T>;
}

export type DefinedFields<T> = { [K in keyof T]?: Exclude<T[K], undefined> };
