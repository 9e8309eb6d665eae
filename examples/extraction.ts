/**
 * Extract invoice fields from a folder of text files; every value comes with its evidence
 * (the quoted text and its offsets), checked against the file.
 *
 *   npx -y pnpm@12.4.2 example:extraction
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extract } from '@shoal/agents';
import type { Executor } from '@shoal/core';
import { z } from 'zod';
import { isMain, progressLine, runAlone } from './shared/backend.js';

export const Invoice = z.object({
  invoiceNumber: z.string().describe('The invoice number as printed, e.g. INV-2041'),
  issueDate: z.string().describe('The date the invoice was issued, as printed'),
  total: z.number().describe('The total amount due, as a plain number'),
  currency: z.string().describe('The currency of the total, e.g. EUR'),
  emails: z.array(z.string()).describe('Every email address in the invoice'),
});

export async function extractionExample(executor: Executor, folder = fileURLToPath(new URL('./data/invoices/', import.meta.url))) {
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.txt'))
    .sort();
  const documents = files.map((file) => ({ id: file, text: readFileSync(`${folder}/${file}`, 'utf8') }));
  console.log(`\nExtraction: ${Object.keys(Invoice.shape).join(', ')} from ${files.length} invoices in ${folder}`);
  const progress = progressLine('extraction');
  const result = await extract({ schema: Invoice, documents, executor, onProgress: (p) => progress.update(p.chunksDone, p.chunks, p.costUsd) });
  for (const doc of result.documents) {
    console.log(`  ${doc.id}: ${doc.complete ? 'complete' : `incomplete (missing: ${doc.missing.join(', ') || 'none'})`}`);
    for (const [field, found] of Object.entries(doc.fields)) {
      const values = Array.isArray(found) ? found : [found];
      for (const v of values as { value: unknown; evidence: { quote: string; start: number; end: number; match: string; valueInQuote: boolean }[] }[]) {
        const e = v.evidence[0]!;
        console.log(
          `    ${field.padEnd(14)} ${JSON.stringify(v.value)}  ← "${e.quote.replace(/\s+/g, ' ').slice(0, 60)}" [${e.start}-${e.end}, ${e.match}${e.valueInQuote ? '' : ', value not in quote'}]`,
        );
      }
    }
    for (const u of doc.unverified) console.log(`    flagged       ${u.field} = ${JSON.stringify(u.value)}: ${u.reason} (quote "${u.quote.slice(0, 50)}")`);
    for (const f of doc.failedChunks) console.log(`    chunk ${f.chunk} failed: ${f.error.message}`);
  }
  const flagged = result.documents.reduce((n, d) => n + d.unverified.length, 0);
  console.log(`  ${result.calls} calls, ${flagged} values flagged (no evidence in the file), $${result.costUsd.toFixed(6)}`);
  return result;
}

if (isMain(import.meta.url)) await runAlone((executor) => extractionExample(executor, process.argv[2]));
