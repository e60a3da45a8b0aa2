// A round-robin HTTP load balancer on loopback for the cluster tests: every request goes to the
// next upstream server in turn (not every connection: a browser's keep-alive connection still
// spreads its requests), bodies streamed both ways. An upstream that refuses the connection is
// skipped for that request, as a real balancer's health check would; `counts` tells how many
// requests each upstream answered, so a test can check that both servers did work.

import { createServer, request } from 'node:http';

/**
 * Starts the balancer in front of `upstreams` (base URLs like `http://127.0.0.1:PORT`).
 * Answers `{ url, counts, close() }`.
 */
export async function startBalancer(upstreams) {
  const targets = upstreams.map((u) => new URL(u));
  const counts = targets.map(() => 0);
  let next = 0;

  const forward = (req, res, tried) => {
    if (tried >= targets.length) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 0, message: 'no upstream server answered' }));
      return;
    }
    const i = next;
    next = (next + 1) % targets.length;
    const target = targets[i];
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: req.headers.host ?? target.host },
      },
      (answer) => {
        counts[i] += 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', (error) => {
      // A server that is down takes no bodiless request: the next one does. A request whose
      // body went into the failed connection cannot be replayed: 502, and the client retries.
      if (res.headersSent) {
        res.destroy();
      } else if (error.code === 'ECONNREFUSED' && !hasBody(req)) {
        forward(req, res, tried + 1);
      } else {
        // Read the rest of the body, or the client's next request on this keep-alive
        // connection waits behind it.
        req.resume();
        res.writeHead(502, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
        res.end(JSON.stringify({ code: 0, message: `upstream ${target.host}: ${error.code ?? error.message}` }));
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (hasBody(req)) req.pipe(upstream);
    else upstream.end();
  };

  // The test hooks (`/v1/test/faults`, `/v1/test/stats`) are per server: the balancer sends
  // them to every server and answers the sum of their counters (the largest of any `max…`), so
  // a test that injects faults and counts part PUTs sees the whole cluster.
  const broadcast = async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const headers = { ...req.headers };
    delete headers.host;
    delete headers['content-length'];
    try {
      const answers = await Promise.all(
        targets.map(async (target) => {
          const answer = await fetch(new URL(req.url, target), { method: req.method, headers, body });
          return { status: answer.status, text: await answer.text() };
        }),
      );
      const failed = answers.find((a) => a.status !== 200);
      if (failed) {
        res.writeHead(failed.status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
        res.end(failed.text);
        return;
      }
      const merged = {};
      for (const { text } of answers) {
        for (const [key, value] of Object.entries(JSON.parse(text))) {
          if (typeof value !== 'number') merged[key] = value;
          else merged[key] = key.startsWith('max') ? Math.max(merged[key] ?? 0, value) : (merged[key] ?? 0) + value;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify(merged));
    } catch (error) {
      res.writeHead(502, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(JSON.stringify({ code: 0, message: `test hooks: ${error.message}` }));
    }
  };

  const server = createServer((req, res) => {
    if (req.url.startsWith('/v1/test/') && req.method !== 'OPTIONS') broadcast(req, res);
    else forward(req, res, 0);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function hasBody(req) {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
