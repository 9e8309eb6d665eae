import { defineAgent, definePlugin } from '@shoal/core';
import { z } from 'zod';

/** Sorts a support ticket into a queue, with a priority and the product area it concerns. */
export const triage = defineAgent({
  name: 'support.triage',
  description: 'Sorts a support ticket into a queue (billing, bug, account, feature) with a priority and the product area.',
  input: z.object({
    subject: z.string().min(1),
    body: z.string().min(1),
    customerTier: z.enum(['free', 'pro', 'enterprise']).default('free'),
  }),
  output: z.object({
    queue: z.enum(['billing', 'bug', 'account', 'feature']),
    priority: z.enum(['low', 'normal', 'high', 'urgent']),
    area: z.string().max(40),
    needsHuman: z.boolean(),
  }),
  instructions: [
    'You triage customer support tickets.',
    'Pick the queue that owns the problem; use "urgent" only for outages, data loss or security issues.',
    'Enterprise customers are one priority step higher than the ticket alone suggests.',
    'Set needsHuman when the ticket asks for a refund, a legal answer, or is abusive.',
  ].join('\n'),
  examples: [
    {
      input: { subject: 'Charged twice', body: 'My card was charged twice for March.', customerTier: 'pro' },
      output: { queue: 'billing', priority: 'high', area: 'payments', needsHuman: true },
    },
  ],
  params: { temperature: 0 },
});

/** Drafts a first reply to a ticket in the company's voice. */
export const draftReply = defineAgent({
  name: 'support.draft-reply',
  description: 'Drafts a short first reply to a support ticket, with the facts it still needs from the customer.',
  input: z.object({ subject: z.string(), body: z.string(), agentName: z.string().default('Sam') }),
  output: z.object({
    reply: z.string().min(1).max(800),
    questions: z.array(z.string()).max(3),
  }),
  instructions:
    'Write a friendly, specific first reply in at most four sentences, signed with the agent name. List up to three questions whose answers we still need.',
  prompt: (input) => `Subject: ${input.subject}\n\n${input.body}\n\n(Sign as ${input.agentName}.)`,
});

export const supportAgents = definePlugin({
  name: '@shoal/example-support-agents',
  version: '1.0.0',
  agents: [triage, draftReply],
});

export default supportAgents;
