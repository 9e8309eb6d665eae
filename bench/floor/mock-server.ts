/**
 * The floor bench's loopback chat-completions mock, in a process of its own: it reads each
 * request's JSON, waits the latency, and answers one fixed completion (a valid answer of the
 * bench's agent, with usage). It does as little as a server can, so that on a 2-core machine
 * its own CPU slows neither contender's wall time more than it must; the emulator simulates
 * answers, counts tokens and checks schemas, which the full `pnpm bench` rows exercise.
 *
 * It also keeps how long it really held each answer: a timer fires late (about 0.2 ms at
 * 50 ms here), which no client can win back, so the ideal wall time is reckoned from the real hold.
 * `GET /stats` answers `{ answers, meanHoldMs }` since the last `GET /stats?reset`.
 *
 * argv: latencyMs. Prints `{"url": ...}` once listening on 127.0.0.1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const latencyMs = Number(process.argv[2] ?? 0);
const answer = JSON.stringify({
  id: 'chatcmpl-floor',
  object: 'chat.completion',
  created: 1_764_892_800,
  model: 'bench',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: JSON.stringify({ label: 'bug', urgent: true, score: 0.75 }), refusal: null },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 212, completion_tokens: 14, total_tokens: 226, prompt_tokens_details: { cached_tokens: 128 } },
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) };

let answers = 0;
let heldMs = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/stats')) {
    res.end(JSON.stringify({ answers, meanHoldMs: answers === 0 ? 0 : heldMs / answers }));
    if (req.url.includes('reset')) answers = heldMs = 0;
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages?: unknown };
    const arrived = performance.now();
    const reply = () => {
      answers++;
      heldMs += performance.now() - arrived;
      if (request.messages === undefined) res.writeHead(400, headers).end('{"error":{"message":"no messages"}}');
      else res.writeHead(200, headers).end(answer);
    };
    if (latencyMs > 0) setTimeout(reply, latencyMs);
    else reply();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })}\n`);
});
