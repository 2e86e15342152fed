// Port of Qpid Proton's python/examples/recurring_timer.py: a plain handler that schedules a timer
// task every period and prints "Tick..." each time. The Python original ticks every second until
// interrupted; --period (ms) and --ticks (stop after that many; 0: never) are additions.
// Run: node build/examples/proton/recurring_timer.js [--period 1000] [--ticks 0]
import { parseArgs } from 'node:util';
import { Container, type Event, type Handler } from 'amqpts';

const { values } = parseArgs({
  options: {
    period: { type: 'string', default: '1000' },
    ticks: { type: 'string', default: '0' },
  },
});

class Recurring implements Handler {
  private container: Container | undefined;
  private count = 0;

  constructor(
    private readonly period: number,
    private readonly ticks: number,
  ) {}

  onReactorInit(event: Event): void {
    this.container = event.container;
    this.container.schedule(this.period, this);
  }

  onTimerTask(): void {
    console.log('Tick...');
    this.count++;
    if (this.ticks === 0 || this.count < this.ticks) this.container?.schedule(this.period, this);
  }
}

const container = new Container(new Recurring(Number(values.period), Number(values.ticks)));
process.on('SIGINT', () => {
  container.stop();
  console.log();
});
await container.run();
