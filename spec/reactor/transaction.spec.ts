// Transactions against a scripted broker: the transactional session (tx.select on a channel of
// its own), sends on it, acks of receivers that handle transactions, commit and its onAccepted,
// abort requeueing accepted deliveries, and the typed errors of misuse.
import { describe, expect, it } from '@jest/globals';
import { type Event, Message, TransactionError, type Transaction } from '../../lib/index.js';
import type { AnyReceived } from '../support/fake-broker.js';
import { Recorder, autoReply, deliver, setup, until } from './support.js';

/** A Recorder that also handles transactions (so its receivers use the transactional session). */
class TxRecorder extends Recorder {
  tx: Transaction | undefined;
  onTransactionDeclared(e: Event): void {
    this.log.push('onTransactionDeclared');
    this.events.push(e);
    this.tx = e.transaction;
  }
}

const at = (methods: AnyReceived[], name: string): AnyReceived[] => methods.filter((m) => m.name === name);

describe('transactions', () => {
  it('sends on the transactional session; the commit gives onAccepted for each message, then onTransactionCommitted', async () => {
    const s = await setup();
    const log = autoReply(s.broker);
    const sender = s.container.createSender(s.conn, 'q');
    const tx = s.container.declareTransaction(s.conn);
    await until(() => s.rec.log.includes('onTransactionDeclared') && sender.isOpen, 'declared');
    const txCh = at(log.methods, 'tx.select')[0]?.channel;
    const senderCh = at(log.methods, 'confirm.select')[0]?.channel;
    expect(txCh).toBeDefined();
    expect(txCh).not.toBe(senderCh);
    expect(s.rec.of('onTransactionDeclared')[0]?.transaction).toBe(tx);
    const d1 = tx.send(sender, new Message('a'));
    const d2 = tx.send(sender, new Message('b'));
    await until(() => log.publishes.length === 2);
    expect(log.publishes.map((p) => [p.channel, p.args.routingKey, p.args.mandatory])).toEqual([
      [txCh, 'q', true],
      [txCh, 'q', true],
    ]);
    expect(s.rec.log).not.toContain('onAccepted');
    s.broker.sendContent(txCh as number, 'basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'q' }, {}, 'b');
    tx.commit();
    await until(() => s.rec.log.includes('onTransactionCommitted'));
    expect(at(log.methods, 'tx.commit')).toHaveLength(1);
    // the return matched the first message sent to that route
    expect(s.rec.of('onReleased')[0]?.delivery).toBe(d1);
    expect(s.rec.of('onAccepted')[0]?.delivery).toBe(d2);
    expect(tx.state).toBe('committed');
    expect(() => tx.send(sender, new Message('late'))).toThrow(TransactionError);
  });

  it('a receiver whose handler handles transactions consumes on the transactional session; accept acks there; abort requeues', async () => {
    const rec = new TxRecorder({ autoAccept: false });
    const s = await setup({ rec });
    const log = autoReply(s.broker);
    s.container.createReceiver(s.conn, 'q');
    s.container.declareTransaction(s.conn);
    await until(() => rec.log.includes('onTransactionDeclared') && rec.log.includes('onLinkOpened'));
    const txCh = at(log.methods, 'tx.select')[0]?.channel as number;
    const consumeM = at(log.methods, 'basic.consume')[0];
    expect(consumeM?.channel).toBe(txCh);
    expect(at(log.methods, 'channel.open')).toHaveLength(1); // one session for both
    deliver(s.broker, txCh, 1, 'x', {}, 'ctag-1'); // the tag autoReply gave
    deliver(s.broker, txCh, 2, 'y', {}, 'ctag-1');
    await until(() => rec.of('onMessage').length === 2);
    const tx = rec.tx as Transaction;
    for (const e of rec.of('onMessage')) tx.accept(e.delivery);
    await until(() => at(log.methods, 'basic.ack').length === 2);
    expect(at(log.methods, 'basic.ack').every((m) => m.channel === txCh)).toBe(true);
    tx.abort();
    await until(() => rec.log.includes('onTransactionAborted'));
    const after = log.methods.slice(log.methods.findIndex((m) => m.name === 'tx.rollback')).map((m) => m.name);
    expect(after).toEqual(['tx.rollback', 'basic.nack', 'basic.nack', 'tx.commit']);
    expect(at(log.methods, 'basic.nack').map((m) => m.args)).toEqual([
      { deliveryTag: 1, multiple: false, requeue: true },
      { deliveryTag: 2, multiple: false, requeue: true },
    ]);
    expect(tx.state).toBe('aborted');
    // closing the receiver cancels its consumer; the shared session stays open
    rec.of('onLinkOpened')[0]?.receiver.close();
    await until(() => rec.log.includes('onLinkClosed'));
    expect(at(log.methods, 'basic.cancel').map((m) => m.channel)).toEqual([txCh]);
    expect(at(log.methods, 'channel.close')).toEqual([]);
  });

  it('accepting a delivery from another session, or declaring a second transaction meanwhile, are TransactionErrors', async () => {
    const s = await setup({ rec: new Recorder({ autoAccept: false }) });
    autoReply(s.broker);
    s.container.createReceiver(s.conn, 'q');
    const tx1 = s.container.declareTransaction(s.conn);
    await until(() => s.rec.log.includes('onTransactionDeclared') && s.rec.log.includes('onLinkOpened'));
    const second = s.container.declareTransaction(s.conn);
    await until(() => s.rec.log.includes('onTransactionDeclareFailed'));
    expect(s.rec.of('onTransactionDeclareFailed')[0]?.error).toBeInstanceOf(TransactionError);
    expect(second.state).toBe('failed');
    // a plain Recorder does not handle transactions: its receiver has a session of its own
    const ch = s.rec.of('onLinkOpened')[0]?.session.channelId as number;
    deliver(s.broker, ch, 1, 'plain', {}, 'ctag-1');
    await until(() => s.rec.log.includes('onMessage'));
    const e = s.rec.of('onMessage')[0] as Event;
    expect(() => tx1.accept(e.delivery)).toThrow(/not on the transactional session/);
    expect(() => tx1.accept(e.delivery)).toThrow(TransactionError);
    expect(e.delivery.settled).toBe(false);
  });

  it('a commit the broker refuses gives onTransactionCommitFailed; a transaction lost with its connection is aborted', async () => {
    const s = await setup();
    autoReply(s.broker, (m) => {
      if (m.name !== 'tx.commit') return false;
      s.broker.send(m.channel, 'channel.close', { replyCode: 406, replyText: 'PRECONDITION_FAILED - boom', classId: 90, methodId: 20 });
      return true;
    });
    const tx = s.container.declareTransaction(s.conn);
    await until(() => s.rec.log.includes('onTransactionDeclared'));
    tx.commit();
    await until(() => s.rec.log.includes('onTransactionCommitFailed'));
    expect(s.rec.of('onTransactionCommitFailed')[0]?.error?.replyCode).toBe(406);
    const tx2 = s.container.declareTransaction(s.conn);
    await until(() => tx2.state === 'declared');
    s.broker.destroy();
    await until(() => s.rec.log.includes('onTransactionAborted'));
    expect(tx2.state).toBe('aborted');
    expect(s.rec.of('onTransactionAborted')[0]?.error).toBeDefined();
  });
});
