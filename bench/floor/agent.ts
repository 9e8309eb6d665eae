/** The agent both contenders of the floor bench run: one structured answer per ticket. */
import { defineAgent } from '@shoal/core';
import { z } from 'zod';

export const ticketOutput = z.object({ label: z.enum(['billing', 'bug', 'account', 'other']), urgent: z.boolean(), score: z.number().min(0).max(1) });

export const ticketAgent = defineAgent({
  name: 'bench-label',
  description: 'Labels a support ticket.',
  input: z.object({ ticket: z.string() }),
  output: ticketOutput,
  instructions: 'Label the support ticket and say whether it is urgent.',
});
