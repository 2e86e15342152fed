/**
 * Proton's tracking window for one direction of a Messenger: entries get consecutive sequence
 * numbers as they are tracked, and only the last `window` of them keep a status; older ones fall
 * out (and the caller is told, so an incoming delivery can be accepted as it falls out, as Proton
 * does). A settled entry is forgotten at once.
 */

/** See the file header. */
export class TrackingStore<E> {
  /** How many of the most recent entries keep their status (Proton's default: 0). */
  window = 0;
  private readonly tracked = new Map<number, E>();
  private next = 0;
  private low = 0;

  /** The sequence number the next `track()` assigns. */
  get nextSequence(): number {
    return this.next;
  }

  /** Tracks `entry` under the next sequence number, then drops entries beyond the window (oldest first, `evicted` for each). */
  track(entry: E, evicted: (e: E) => void): number {
    const id = this.next++;
    this.tracked.set(id, entry);
    while (this.next - this.low > this.window) {
      const e = this.tracked.get(this.low);
      this.tracked.delete(this.low);
      this.low++;
      if (e !== undefined) evicted(e);
    }
    return id;
  }

  /** The entry tracked as `id`, if it still is. */
  get(id: number): E | undefined {
    return this.tracked.get(id);
  }

  /** Entries tracked from the oldest still in the window up to `id`, in order. */
  upTo(id: number): E[] {
    const out: E[] = [];
    for (let i = this.low; i <= id && i < this.next; i++) {
      const e = this.tracked.get(i);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Forgets `id` (its status becomes UNKNOWN). */
  forget(id: number): void {
    this.tracked.delete(id);
    while (this.low < this.next && !this.tracked.has(this.low)) this.low++;
  }

  /** Every tracked entry. */
  all(): IterableIterator<E> {
    return this.tracked.values();
  }
}
