/**
 * The container's event loop: jobs (one handler call each, with what follows it, such as the
 * automatic accept of a message) wait in a FIFO until the loop runs them. In `run()` mode they
 * start as they arrive; in pull mode (`doWork`) only while doWork runs. A job runs on a lane (the
 * container's, a connection's, a link's): jobs of one lane run one after another, each after the
 * previous one's promise settled, so a link's events keep their order even with async handlers.
 * A job may also wait for other lanes (a link's events wait for its connection's earlier ones).
 * Jobs never reject: the container wraps handler calls and routes their errors itself.
 */

/** A serial lane of jobs. */
export class Lane {
  /** @internal Settles when the last job posted to the lane has finished. */
  tail: Promise<void> = Promise.resolve();
}

interface Job {
  lane: Lane;
  after: readonly Lane[];
  run: () => unknown;
}

/** How the loop runs: not yet, as jobs arrive (`run`), or only inside doWork (`pull`). */
export type DispatchMode = 'idle' | 'run' | 'pull';

/** See the file header. */
export class Dispatcher {
  /** How jobs are started. */
  mode: DispatchMode = 'idle';
  private pending: Job[] = [];
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private postWaiters: Array<() => void> = [];

  /** @param onIdle - called whenever the last running job finished and nothing is pending. */
  constructor(private readonly onIdle: () => void) {}

  /** Jobs waiting to start. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** True when no job is running or waiting. */
  get idle(): boolean {
    return this.inflight === 0 && this.pending.length === 0;
  }

  /**
   * Queues `run` on `lane`, to start after the lane's earlier jobs and those of `after` (with
   * `first`, ahead of every job still pending: the container's start event).
   */
  post(lane: Lane, run: () => unknown, after: readonly Lane[] = [], first = false): void {
    if (first) this.pending.unshift({ lane, after, run });
    else this.pending.push({ lane, after, run });
    if (this.mode === 'run') this.pump();
    const w = this.postWaiters;
    this.postWaiters = [];
    for (const f of w) f();
  }

  /** Starts every pending job (each still waits for its lane). */
  pump(): void {
    const jobs = this.pending;
    this.pending = [];
    for (const job of jobs) {
      const deps = job.after.length === 0 ? job.lane.tail : Promise.all([job.lane.tail, ...job.after.map((l) => l.tail)]);
      this.inflight++;
      const done = deps.then(job.run).then(
        () => this.finished(),
        () => this.finished(),
      );
      job.lane.tail = done;
    }
  }

  private finished(): void {
    this.inflight--;
    if (this.inflight > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
    if (this.pending.length === 0) this.onIdle();
  }

  /** Resolves once no job is running (pending jobs of pull mode do not count). */
  whenQuiet(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves on the next post, or after `ms` (Infinity: no timer); false when the time ran out. */
  nextPost(ms: number): Promise<boolean> {
    if (this.pending.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.postWaiters.push(wake);
      if (ms !== Infinity) {
        timer = setTimeout(() => {
          this.postWaiters = this.postWaiters.filter((f) => f !== wake);
          resolve(false);
        }, ms);
      }
    });
  }

  /** Wakes a pending nextPost() (the container stopped). */
  wake(): void {
    const w = this.postWaiters;
    this.postWaiters = [];
    for (const f of w) f();
  }
}
