// The bench's load generator: autocannon (npm, pinned in package.json) sending one body from
// many keep-alive connections, each request to a new random path, for a duration or a count;
// optionally AWS SigV4-signed for S3 PUTs. Installs with `npm install` in seconds. Each run is
// its own Node process (as oha was), so the bench process's CPU and event loop (the cluster
// bench's balancer) stay apart from the load's.
//
// Figures comparable with the oha runs of before (docs/benchmarks.md): the rate counts only 2xx
// answers over the time from the start to the last answer; p50/p99/max are taken over every
// answer's own time (client-side, from sending the request to the end of the answer, as oha
// measured); any other status, a connection error or a timeout counts as failed.

import { execFile } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

/** The autocannon version in use, for the machine section of a results file. */
export const LOADGEN = `autocannon ${createRequire(import.meta.url)('autocannon/package.json').version}`;

/**
 * A source of new file names: 24 characters of `[a-z0-9]` (as oha's `--rand-regex-url
 * '[a-z0-9]{24}'` made), a random prefix per source and a counter, so no two repeat and a name
 * costs no random bytes per request.
 */
export function nameSource() {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const prefix = Array.from(randomBytes(12), (b) => alphabet[b % 36]).join('');
  let n = 0;
  return () => prefix + (n++).toString(36).padStart(12, '0');
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank. */
function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const hmac = (key, text) => createHmac('sha256', key).update(text).digest();

/**
 * A signer of S3 requests with AWS Signature Version 4 in the `Authorization` header, over a
 * body whose SHA-256 (`payloadHash`, hex) is known: `sign({ method, host, path })` returns the
 * headers to send. `path` must already be URI-encoded (our random names need no encoding).
 */
export function sigv4({ accessKeyId, secretAccessKey, region, service = 's3', payloadHash }) {
  let day = '';
  let signingKey = null;
  return ({ method, host, path }) => {
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20261203T145403Z
    if (amzDate.slice(0, 8) !== day) {
      day = amzDate.slice(0, 8);
      signingKey = ['aws4_request'].reduce(hmac, hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service));
    }
    const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
    const canonical = [method, path, '', `host:${host}`, `x-amz-content-sha256:${payloadHash}`, `x-amz-date:${amzDate}`, '', signedHeaders, payloadHash].join('\n');
    const scope = `${day}/${region}/${service}/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    const signature = createHmac('sha256', signingKey).update(toSign).digest('hex');
    return {
      'x-amz-date': amzDate,
      'x-amz-content-sha256': payloadHash,
      Authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    };
  };
}

/**
 * Sends the bytes of `bodyPath` from `concurrency` connections, each request to
 * `${base}/${name}${suffix}` (a new 24-character name each), or GETs each of `paths` in turn,
 * for `seconds` or until `count`
 * requests are answered, in a child Node process. `s3` ({ accessKeyId, secretAccessKey, region })
 * signs each request with SigV4. Requests still in flight at the deadline are neither counted
 * nor failed. Returns `{ concurrency, seconds, requests, succeeded, failed, uploadsPerSec, p50Ms,
 * p99Ms, maxMs, statusCodes, errors, loadgenCpuSec }`.
 */
export function uploadLoad(options) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(options)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`load generator failed: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** What `uploadLoad` runs in its child process. */
async function runLoad({ base, suffix = '', method = 'POST', bodyPath, paths = null, seconds, count, concurrency, s3 = null }) {
  // `paths`: GETs of these paths (from the origin of `base`), in turn across all connections.
  if (paths) method = 'GET';
  const body = paths ? undefined : await readFile(bodyPath);
  const target = new URL(base);
  const prefix = target.pathname.replace(/\/$/, '');
  const sign = s3 ? sigv4({ ...s3, payloadHash: createHash('sha256').update(body).digest('hex') }) : null;
  const headers = paths ? { Accept: 'image/webp,*/*' } : { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) };
  const nextName = nameSource();
  let turn = 0;
  const times = [];
  let last = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const instance = autocannon({
    url: target.origin,
    connections: concurrency,
    ...(seconds ? { duration: seconds } : { amount: count }),
    sampleInt: 100, // the run ends at the first sample after the deadline or the last answer
    timeout: 30,
    requests: [
      {
        method,
        body,
        headers,
        setupRequest(req) {
          if (paths) {
            req.path = paths[turn++ % paths.length];
            return req;
          }
          req.path = `${prefix}/${nextName()}${suffix}`;
          if (sign) req.headers = { ...headers, ...sign({ method, host: target.host, path: req.path }) };
          return req;
        },
      },
    ],
  });
  const errors = {};
  instance.on('response', (_client, _status, _bytes, ms) => {
    times.push(ms);
    last = performance.now();
  });
  instance.on('reqError', (err) => {
    const key = err?.code ?? err?.message ?? String(err);
    errors[key] = (errors[key] ?? 0) + 1;
  });
  const result = await instance;
  const cpu = process.cpuUsage(cpuBefore);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count: n }]) => [code, n]));
  const succeeded = result['2xx'];
  const failedRequests = Object.values(errors).reduce((a, b) => a + b, 0);
  const answered = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const wall = ((last || performance.now()) - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    concurrency,
    seconds: Math.round(wall * 100) / 100,
    requests: answered + failedRequests,
    succeeded,
    failed: answered + failedRequests - succeeded,
    uploadsPerSec: succeeded / wall,
    requestsPerSec: succeeded / wall,
    p50Ms: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    maxMs: times.length ? times[times.length - 1] : NaN,
    statusCodes,
    errors,
    loadgenCpuSec: (cpu.user + cpu.system) / 1e6,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await runLoad(JSON.parse(process.argv[2])))}\n`);
}
