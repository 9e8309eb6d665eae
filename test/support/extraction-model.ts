/**
 * A stand-in extraction model for tests: it reads the chunk text of an extract() prompt and
 * answers like a careful model would (emails, an invoice number, a total, each with a
 * verbatim quote), plus the mistakes evidence checking must catch: an invented email whose
 * quote is not in the text, and a quote with its white space and case changed.
 */
export const GHOST_EMAIL = 'ghost@nowhere.test';

export function isExtractPrompt(prompt: string): boolean {
  return prompt.includes('You extract fields from a part of a document.');
}

export function extractionReply(prompt: string): string {
  const text = /\n<<<\n([\s\S]*)\n>>>/.exec(prompt)?.[1] ?? '';
  const emails = [...text.matchAll(/[\w.+-]+@[\w-]+\.[\w.]+\w/g)].map((m) => ({ value: m[0], quote: m[0] }));
  emails.push({ value: GHOST_EMAIL, quote: `write to ${GHOST_EMAIL}` });
  const invoice = /Invoice number:\s*(\S+)/.exec(text);
  const total = /Total due:\s*([\d,]+\.\d\d)/.exec(text);
  const answer: Record<string, unknown> = { emails };
  // The invoice number's quote comes back with its spacing and case changed: found as "normalized".
  answer.invoiceNumber = invoice ? { value: invoice[1], quote: invoice[0].replace(/\s+/g, '  ').toUpperCase() } : null;
  answer.total = total ? { value: Number(total[1]!.replace(/,/g, '')), quote: total[0] } : null;
  return JSON.stringify(answer);
}
