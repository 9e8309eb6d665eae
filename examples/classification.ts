/**
 * Support-ticket triage: one label per ticket from a zod enum, 12 tickets per model call,
 * with a confidence and an abstain path for tickets that fit no queue.
 *
 *   npx -y pnpm@12.4.2 example:classification
 */

import { classify } from '@shoal/agents';
import type { Executor } from '@shoal/core';
import { z } from 'zod';
import { isMain, runAlone } from './shared/backend.js';

export const Queue = z.enum(['billing', 'bug', 'account', 'feature-request']);

export const TICKETS = [
  'My invoice shows a double charge for March.',
  'The app crashes when I upload a PNG larger than 10 MB.',
  'I was locked out after resetting my password twice.',
  'Can you add dark mode to the dashboard?',
  'The API returns 502 errors every few minutes since this morning.',
  'Please cancel my subscription at the end of the month.',
  'Our SSO login loops back to the sign-in page.',
  'Is there a discount for non-profits?',
  'Webhook deliveries arrive twice.',
  'Export to CSV would save us hours every week.',
  'Change the email address on my account to my work one.',
  'Do you have an office in Lisbon?',
  'The refund for order 5531 has not arrived.',
  'Charts render blank in Safari 18.',
  'Please add two-factor authentication with hardware keys.',
  'Who won the match last night?',
  'I need a VAT invoice for last year.',
  'Notifications stopped after the last update.',
  'Can I merge two accounts into one?',
  'A bulk-edit mode for tags, please.',
  'You charged my card after I cancelled.',
  'The search box ignores accents.',
  'Add my colleague as an admin.',
  'What is the meaning of life?',
];

export async function classificationExample(executor: Executor) {
  console.log(`\nClassification: ${TICKETS.length} tickets into ${Queue.options.join(', ')} (or other), 12 per call, with confidence`);
  const result = await classify({
    labels: Queue,
    items: TICKETS,
    executor,
    pack: 12,
    confidence: true,
    other: true,
    minConfidence: 0.4,
    descriptions: {
      billing: 'charges, refunds, invoices, subscriptions',
      bug: 'something is broken or wrong',
      account: 'login, access, users, settings',
      'feature-request': 'asks for something new',
    },
  });
  for (const [i, item] of result.items.entries()) {
    const shown = item.ok
      ? item.abstained
        ? `— (${item.abstained}${item.modelLabel ? `, model said ${item.modelLabel}` : ''})`
        : item.label
      : `failed: ${item.error.message}`;
    const confidence = item.ok && item.confidence !== undefined ? ` ${item.confidence.toFixed(2)}` : '';
    console.log(`  ${String(shown).padEnd(34)}${confidence.padEnd(6)} ${TICKETS[i]}`);
  }
  console.log(
    `  per queue: ${Object.entries(result.counts)
      .map(([l, n]) => `${l} ${n}`)
      .join(', ')}; abstained ${result.abstained}; failed ${result.failed}`,
  );
  console.log(`  ${result.calls} calls (${result.packedCalls} packed) for ${TICKETS.length} tickets, $${result.costUsd.toFixed(6)}`);
  return result;
}

if (isMain(import.meta.url)) await runAlone(classificationExample);
