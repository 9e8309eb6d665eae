import { classify, extract, rank } from '@shoal/agents';
import { createExecutor, shortApi } from '@shoal/core';
import { z } from 'zod';

const executor = createExecutor({ provider: shortApi(), concurrency: 32 });

const query = 'why are there two tides a day';
const items = [
  { id: 'moon', text: 'The moon pulls the near side of the ocean, and the far side lags behind: two bulges, two tides.' },
  { id: 'table', text: 'A tide table lists the times of high and low water for a harbour.' },
  { id: 'currents', text: 'Ocean currents carry heat from the equator toward the poles.' },
  { id: 'sun', text: 'The sun adds its own, smaller tide: spring tides when sun and moon line up.' },
];
const top = await rank({ query, items, topK: 2, executor }); // tournament: 9 calls, 4 rounds for 100 items
console.log(top.ranking.map(({ rank, item }) => `${rank}. ${item.id}`).join(' '), `(${top.calls} calls, ${top.rounds} rounds)`);
// top.ranking: [{ id, rank, item }], your item objects, best first; top.repairs: ids the model left out, repeated or invented

const Invoice = z.object({ invoiceNumber: z.string(), total: z.number(), emails: z.array(z.string()) });
const texts = ['INVOICE INV-2041\nBilled to: ap@acme.example\nTotal due: 682.50 EUR'];
const { documents } = await extract({ schema: Invoice, documents: texts, executor });
for (const document of documents) {
  console.log('total:', document.fields.total); // { value: 682.5, evidence: [{ quote: 'Total due: 682.50', start, end, ... }], alternatives }
  console.log('unverified:', document.unverified); // values whose quote is not in the document: never reported as found
}

const tickets = ['I was charged twice', 'The export button does nothing', 'How do I change my email?'];
const triage = await classify({ labels: z.enum(['billing', 'bug', 'account']), items: tickets, executor, pack: 20, confidence: true, other: true });
for (const [i, item] of triage.items.entries())
  console.log(tickets[i], '→', item.ok ? (item.abstained ? `abstained (${item.abstained})` : `${item.label} (${item.confidence})`) : item.error.code);
await executor.close();
