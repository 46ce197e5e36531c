/**
 * What the bridge posts to the page for the worker's verdict: only what the main-world script
 * acts on, nothing of the worker's reasons. The worker checked the credential's header against
 * its closed list before the verdict left it; the bridge relays.
 */
import type { ChallengeVerdict } from '../messages/map';
import { type BridgeAnswer, CHANNEL } from './channel';

export function answerFor(id: number, verdict: ChallengeVerdict | undefined): BridgeAnswer {
  const msg: BridgeAnswer = { channel: CHANNEL, kind: 'answer', id };
  if (verdict?.action === 'retry') {
    msg.retry = { header: verdict.credential.header, value: verdict.credential.value };
    if (verdict.paymentId) msg.paymentId = verdict.paymentId;
    if (verdict.keep) msg.keep = verdict.keep.origin + verdict.keep.pathPrefix;
    if (verdict.held) msg.held = true;
  }
  if (verdict?.action === 'pay-in-page') {
    const { action: _action, reason: _reason, ...pay } = verdict;
    msg.pay = pay;
  }
  return msg;
}
