/**
 * The `eventId`s one warm function instance put on the events queue lately, oldest forgotten first.
 * Only a successful send is remembered, so "remembered" always means "on the queue": a duplicate of a
 * remembered punch needs no send. Forgetting only costs a send that consumers drop as a repeat.
 */
export class RecentlySent {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  has(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  add(eventId: string): void {
    // Re-inserted at the end: a punch its device keeps resending stays remembered.
    this.ids.delete(eventId);
    this.ids.add(eventId);
    if (this.ids.size <= this.capacity) return;
    const oldest = this.ids.values().next().value;
    if (oldest !== undefined) this.ids.delete(oldest);
  }
}
