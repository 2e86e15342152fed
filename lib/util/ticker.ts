/**
 * One process-wide timer mechanism for periodic checks (heartbeats, the confirm watchdog): members
 * with the same period share one unref'd interval, however many connections there are, and the
 * interval stops when its last member leaves. 1000 idle connections with the same heartbeat cost
 * one timer, which wakes every quarter heartbeat and does a few comparisons per connection.
 */

/** Something checked periodically. */
export interface Tickable {
  /** Called every period with the current time (ms); must not throw. */
  tick(now: number): void;
}

interface Group {
  timer: NodeJS.Timeout;
  members: Set<Tickable>;
}

/** See the file header. */
export class Ticker {
  private readonly groups = new Map<number, Group>();

  /** Calls `member.tick()` every `periodMs` (rounded to whole ms, at least 1) until `remove()`. */
  add(periodMs: number, member: Tickable): void {
    const period = Math.max(1, Math.round(periodMs));
    let g = this.groups.get(period);
    if (g === undefined) {
      const members = new Set<Tickable>();
      const timer = setInterval(() => {
        const now = Date.now();
        for (const m of members) m.tick(now);
      }, period);
      timer.unref();
      g = { timer, members };
      this.groups.set(period, g);
    }
    g.members.add(member);
  }

  /** Stops calling `member` (registered with `periodMs`); the last member of a period stops its timer. */
  remove(periodMs: number, member: Tickable): void {
    const period = Math.max(1, Math.round(periodMs));
    const g = this.groups.get(period);
    if (g === undefined || !g.members.delete(member)) return;
    if (g.members.size === 0) {
      clearInterval(g.timer);
      this.groups.delete(period);
    }
  }

  /** Number of live timers (one per period in use). */
  get timers(): number {
    return this.groups.size;
  }
}

/** The process's ticker. */
export const ticker = new Ticker();
