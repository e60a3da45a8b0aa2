// Stowage keeps data on a distributed deployment when parts of it fail. Its own deployment, all
// on loopback: a 3-node Garage cluster (replication factor 3), a throwaway PostgreSQL, two Stowage
// servers sharing one database and one bucket prefix (server A talks to Garage node 0, B to node
// 1; node 2 only stores), and a round-robin balancer in front of them. Then:
//   1. Garage node 2 killed in the middle of uploads and downloads (and restarted near the end):
//      every answer is 200 and every acknowledged upload reads back byte-identical from both servers;
//   2. PostgreSQL restarted: while it is away both servers answer 503 {code: 7010} with
//      Retry-After, quickly; once it is back they answer 200 by themselves, with the data kept;
//   3. Stowage server A SIGKILLed in the middle of a /v1 multipart upload: the client's retries
//      finish it through server B, and the file reads back byte-identical.
// The server kill runs last: it leaves one server. Skipped without `garage` or the release binary.
//
//   node --test tests/cluster-failures.test.mjs

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBalancer } from './balancer.mjs';
import { findGarage, startGarage } from './garage.mjs';
import { createDatabase, startPostgres } from './postgres.mjs';
import { API_KEY, APP_ID, ARTIFACTS, DEFAULT_BIN, startServer } from './server.mjs';

const KIB = 1024;
const MIB = 1024 * KIB;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const say = (line) => console.log(`[cluster-failures] ${line}`);

const skip = !findGarage()
  ? 'garage is not installed (scripts/setup.sh --garage installs it)'
  : !existsSync(DEFAULT_BIN)
    ? `the release binary ${DEFAULT_BIN} is missing (npm run build)`
    : false;

/** The deployment, built in before(). */
const cluster = { postgres: null, garage: null, servers: [], balancer: null };
/** What test 1 uploaded and the servers acknowledged: name → SHA-256. Test 2 checks it is kept. */
const acknowledged = new Map();

/**
 * One request; never throws. Answers `{ status, headers, body (Buffer), ms }`, or `{ status: 0,
 * error, ms }` for a network error or no answer within `timeoutMs`.
 */
async function call(url, { method = 'GET', headers = {}, body, timeoutMs = 60_000 } = {}) {
  const began = Date.now();
  try {
    const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const data = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: data, ms: Date.now() - began };
  } catch (err) {
    const error = err.name === 'TimeoutError' ? `no answer within ${seconds(timeoutMs)}` : `${err.message}${err.cause ? ` (${err.cause.code ?? err.cause.message})` : ''}`;
    return { status: 0, error, ms: Date.now() - began };
  }
}

/** A short description of an answer, for failure messages. */
const describeAnswer = (r) => (r.status === 0 ? `network error: ${r.error}` : `${r.status} ${r.body.toString('utf8').slice(0, 300)}`);

const json = (r) => {
  try {
    return JSON.parse(r.body.toString('utf8'));
  } catch {
    return null;
  }
};

const filesUrl = (base, path) => `${base}/${APP_ID}/${API_KEY}/files/${path}`;

/** Runs `fn` over `items`, `limit` at a time. */
async function pool(items, limit, fn) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (queue.length > 0) await fn(queue.shift());
    }),
  );
}

describe('cluster failures', { skip }, () => {
  before(async () => {
    const began = Date.now();
    try {
      cluster.postgres = await startPostgres({ log: say, logFile: join(ARTIFACTS, 'cluster-failures-postgres.log') });
      cluster.garage = await startGarage({ log: say });
      const database = await createDatabase(cluster.postgres.url, 'stowage_failures');
      const args = ['--database', database, '--blobs', `s3://${cluster.garage.bucket}/failures`];
      // One after the other: the first creates the schema and the shared signing secret.
      for (const [i, name] of ['a', 'b'].entries()) {
        const server = await startServer({ logFile: join(ARTIFACTS, `cluster-${name}.log`), args, env: cluster.garage.env(i) });
        server.name = name.toUpperCase();
        cluster.servers.push(server);
      }
      cluster.balancer = await startBalancer(cluster.servers.map((s) => s.url));
      say(`servers A ${cluster.servers[0].url} (Garage node 0), B ${cluster.servers[1].url} (Garage node 1), balancer ${cluster.balancer.url}; ready in ${seconds(Date.now() - began)}`);
    } catch (err) {
      await stopAll();
      throw err;
    }
  });

  after(stopAll);

  test('one Garage node killed during uploads and downloads: no error answered, no acknowledged write lost', { timeout: 150_000 }, async () => {
    const { garage, balancer, servers } = cluster;
    const CLIENTS = 4;
    const OPS = 30; // per client
    const total = CLIENTS * OPS;
    const killAfter = Math.round(total / 3);
    const restartAfter = total - 15;
    const dir = 'mix';
    const failures = [];
    const phases = { 'all nodes up': { ops: 0, uploads: 0, downloads: 0, bytes: 0 }, 'node 2 down': { ops: 0, uploads: 0, downloads: 0, bytes: 0 }, 'node 2 back': { ops: 0, uploads: 0, downloads: 0, bytes: 0 } };
    let phase = 'all nodes up';
    let done = 0;
    let killed = null;
    let restarted = null;
    const timings = {};
    const countsBefore = [...balancer.counts];
    const began = Date.now();

    const afterOp = () => {
      done += 1;
      if (done === killAfter) {
        killed = (async () => {
          const t = Date.now();
          await garage.kill(2);
          timings.killedAt = Date.now() - began;
          timings.kill = Date.now() - t;
          phase = 'node 2 down';
          say(`Garage node 2 killed after ${done} operations (${seconds(timings.killedAt)})`);
        })();
      }
      if (done === restartAfter) {
        restarted = (async () => {
          await killed;
          const t = Date.now();
          await garage.restart(2);
          timings.restart = Date.now() - t;
          phase = 'node 2 back';
          say(`Garage node 2 serves again after ${done} operations (its restart took ${seconds(timings.restart)})`);
        })();
      }
    };

    const client = async (c) => {
      for (let i = 0; i < OPS; i += 1) {
        const names = [...acknowledged.keys()];
        const at = phase;
        if (names.length === 0 || Math.random() < 0.5) {
          const size = KIB + Math.floor(Math.random() * (3 * MIB - KIB));
          const data = randomBytes(size);
          const name = `c${c}-${i}.bin`;
          const r = await call(filesUrl(balancer.url, `${dir}/${name}`), {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: data,
          });
          const body = r.status === 200 ? json(r) : null;
          if (r.status !== 200 || typeof body?.fileURL !== 'string' || !body.fileURL.endsWith(`/files/${dir}/${name}`)) {
            failures.push(`upload ${name} (${size} B, ${at}): ${describeAnswer(r)}`);
          } else {
            acknowledged.set(`${dir}/${name}`, sha256(data));
          }
          phases[at].uploads += 1;
          phases[at].bytes += size;
        } else {
          const name = names[Math.floor(Math.random() * names.length)];
          const r = await call(filesUrl(balancer.url, name));
          if (r.status !== 200) failures.push(`download ${name} (${at}): ${describeAnswer(r)}`);
          else if (sha256(r.body) !== acknowledged.get(name)) failures.push(`download ${name} (${at}): 200 but ${r.body.length} different bytes`);
          phases[at].downloads += 1;
          if (r.status === 200) phases[at].bytes += r.body.length;
        }
        phases[at].ops += 1;
        afterOp();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const mixMs = Date.now() - began;
    await killed;
    await restarted;

    // Every acknowledged upload, from each server directly.
    const verifyBegan = Date.now();
    const lost = [];
    const names = [...acknowledged.keys()].filter((n) => n.startsWith(`${dir}/`));
    await pool(
      names.flatMap((name) => servers.map((server) => ({ name, server }))),
      8,
      async ({ name, server }) => {
        const r = await call(filesUrl(server.url, name));
        if (r.status !== 200) lost.push(`${name} from server ${server.name}: ${describeAnswer(r)}`);
        else if (sha256(r.body) !== acknowledged.get(name)) lost.push(`${name} from server ${server.name}: ${r.body.length} different bytes`);
      },
    );
    const served = balancer.counts.map((n, i) => n - countsBefore[i]);
    say(
      `Garage node killed: ${total} operations by ${CLIENTS} clients in ${seconds(mixMs)} ` +
        `(${Object.entries(phases)
          .map(([p, s]) => `${p}: ${s.ops} ops, ${s.uploads} up, ${s.downloads} down, ${(s.bytes / MIB).toFixed(1)} MiB`)
          .join('; ')}); ` +
        `requests per server A/B ${served.join('/')}; ${failures.length} non-200 answers; ` +
        `${names.length} acknowledged uploads read back from both servers in ${seconds(Date.now() - verifyBegan)}, ${lost.length} lost or different`,
    );
    for (const line of [...failures, ...lost]) say(`  ${line}`);
    assert.ok(timings.killedAt !== undefined && timings.restart !== undefined, 'node 2 was killed and restarted during the run');
    assert.ok(phases['node 2 down'].ops > 0, 'some operations ran while node 2 was down');
    assert.deepEqual(failures, [], `${failures.length} of ${total} operations were not answered 200 (see tests/artifacts/cluster-a.log, cluster-b.log)`);
    assert.deepEqual(lost, [], `${lost.length} acknowledged uploads did not read back byte-identical`);
    assert.ok(served.every((n) => n > 0), `both servers answered requests (${served.join('/')})`);
  });

  test('PostgreSQL restarted: servers answer 503 with a code while it is away and recover by themselves', { timeout: 150_000 }, async () => {
    const { postgres, balancer } = cluster;
    const servers = cluster.servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    assert.equal(servers.length, 2, 'both servers run');
    const ANSWER_WITHIN_MS = 20_000;
    const RECOVER_WITHIN_MS = 30_000;
    const dir = 'pg';

    // Acknowledged before the outage.
    const kept = randomBytes(256 * KIB);
    const first = await call(filesUrl(balancer.url, `${dir}/before.bin`), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: kept });
    assert.equal(first.status, 200, `upload before the outage: ${describeAnswer(first)}`);

    // While it is down: a listing, an upload and a download on each server, twice (the first
    // round meets the pool's connections cut by the shutdown, the second finds none to open).
    const requests = (server, round) => [
      { what: 'listing', url: `${filesUrl(server.url, `${dir}/`)}?pagesize=1000` },
      { what: 'upload', url: filesUrl(server.url, `${dir}/during-${server.name}-${round}.bin`), method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(KIB) },
      { what: 'download', url: filesUrl(server.url, `${dir}/before.bin`) },
      { what: 'v1 init', url: `${server.url}/v1/files/multipart/init`, method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ path: dir, name: `mp-${server.name}-${round}.bin`, size: 10 * MIB }) },
    ];
    const outage = [];
    let downFor = 0;
    const stopBegan = Date.now();
    await postgres.restart(async () => {
      const downAt = Date.now();
      say(`PostgreSQL stopped (pg_ctl stop -m fast took ${seconds(downAt - stopBegan)})`);
      for (const round of [1, 2]) {
        await Promise.all(
          servers.flatMap((server) =>
            requests(server, round).map(async (req) => {
              // Waited for past the limit, so that a slow answer is told with what it was.
              const r = await call(req.url, { ...req, timeoutMs: ANSWER_WITHIN_MS + 30_000 });
              outage.push({ server: server.name, round, what: req.what, r, body: r.status ? json(r) : null });
            }),
          ),
        );
      }
      downFor = Date.now() - downAt;
    });
    const startedAt = Date.now();
    say(`PostgreSQL started again after ${seconds(downFor)} away`);

    // Back: both servers answer an upload and a listing with 200, without a restart.
    const recovery = await Promise.all(
      servers.map(async (server) => {
        let attempts = 0;
        let last = null;
        while (Date.now() - startedAt < RECOVER_WITHIN_MS) {
          attempts += 1;
          const up = await call(filesUrl(server.url, `${dir}/after-${server.name}-${attempts}.bin`), {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: randomBytes(KIB),
            timeoutMs: 10_000,
          });
          const list = up.status === 200 ? await call(`${filesUrl(server.url, `${dir}/`)}?pagesize=1000`, { timeoutMs: 10_000 }) : null;
          last = list ?? up;
          if (up.status === 200 && list.status === 200) return { server, ms: Date.now() - startedAt, attempts, listing: json(list) };
          await sleep(500);
        }
        return { server, ms: null, attempts, last };
      }),
    );

    const lines = outage
      .sort((x, y) => x.round - y.round || x.server.localeCompare(y.server) || x.what.localeCompare(y.what))
      .map(({ server, round, what, r, body }) => `round ${round} server ${server} ${what}: ${r.status === 0 ? r.error : `${r.status} code ${body?.code} Retry-After ${r.headers.get('retry-after')}`} in ${seconds(r.ms)}`);
    const slowest = Math.max(...outage.map((o) => o.r.ms));
    say(
      `PostgreSQL restarted: ${outage.length} requests while it was away (${seconds(downFor)}), slowest answer ${seconds(slowest)}; ` +
        recovery.map((x) => `server ${x.server.name} ${x.ms === null ? `NOT recovered in ${seconds(RECOVER_WITHIN_MS)} (last: ${describeAnswer(x.last)})` : `recovered ${seconds(x.ms)} after the start (${x.attempts} tries)`}`).join(', '),
    );
    for (const line of lines) say(`  ${line}`);

    // Every problem is gathered, so that one run tells all of them.
    const problems = [];
    for (const { server, round, what, r, body } of outage) {
      const told = r.status ? `${describeAnswer(r)} (Retry-After ${r.headers.get('retry-after')}) after ${seconds(r.ms)}` : `${r.error} after ${seconds(r.ms)}`;
      if (!(r.status === 503 && body?.code === 7010 && r.headers.get('retry-after'))) problems.push(`while PostgreSQL was away, round ${round} server ${server} ${what}: ${told}, not 503 {code: 7010} with Retry-After`);
      else if (r.ms > ANSWER_WITHIN_MS) problems.push(`while PostgreSQL was away, round ${round} server ${server} ${what}: 503 {code: 7010} only after ${seconds(r.ms)} (more than ${seconds(ANSWER_WITHIN_MS)})`);
    }
    for (const x of recovery) {
      if (x.ms === null) problems.push(`server ${x.server.name} did not answer an upload and a listing with 200 within ${seconds(RECOVER_WITHIN_MS)} of PostgreSQL's start: ${describeAnswer(x.last)}`);
    }

    // Nothing acknowledged before was lost; nothing answered 503 was stored.
    for (const { server, listing } of recovery) {
      if (!listing) continue;
      const listed = new Set(listing.map((e) => e.name));
      if (!listed.has('before.bin')) problems.push(`server ${server.name} does not list before.bin (it lists ${[...listed].join(', ')})`);
      for (const round of [1, 2]) {
        for (const s of servers) if (listed.has(`during-${s.name}-${round}.bin`)) problems.push(`server ${server.name} lists during-${s.name}-${round}.bin, whose upload was answered 503`);
      }
    }
    for (const server of servers) {
      const r = await call(filesUrl(server.url, `${dir}/before.bin`));
      if (r.status !== 200) problems.push(`before.bin from server ${server.name}: ${describeAnswer(r)}`);
      else if (sha256(r.body) !== sha256(kept)) problems.push(`before.bin from server ${server.name}: ${r.body.length} different bytes`);
    }
    // And what the first test acknowledged is still listed.
    const mix = [...acknowledged.keys()].filter((n) => n.startsWith('mix/'));
    if (mix.length > 0) {
      const r = await call(`${filesUrl(balancer.url, 'mix/')}?pagesize=1000`);
      if (r.status !== 200) problems.push(`listing mix/: ${describeAnswer(r)}`);
      else {
        const listed = new Set(json(r).map((e) => `mix/${e.name}`));
        const missing = mix.filter((n) => !listed.has(n));
        if (missing.length > 0) problems.push(`${missing.length} uploads of the first test are no longer listed: ${missing.join(', ')}`);
      }
    }
    assert.deepEqual(problems, [], `PostgreSQL restart: ${problems.length} problems (see tests/artifacts/cluster-a.log, cluster-b.log)`);
  });

  test('one Stowage server killed during a multipart upload: the client retries finish it through the other server', { timeout: 120_000 }, async () => {
    const { balancer } = cluster;
    const [a, b] = cluster.servers;
    assert.ok(a.child.exitCode === null && a.child.signalCode === null && b.child.exitCode === null, 'both servers run');
    const PART = 5 * MIB;
    const data = randomBytes(5 * PART + PART / 2); // 6 parts, the last one half
    const counts = () => [...balancer.counts];
    /** Which server answered the request that moved the balancer's counts from `before`. */
    const who = (before) => cluster.servers.filter((_, i) => balancer.counts[i] > before[i]).map((s) => s.name).join('+') || 'none';
    const log = [];
    let retries = 0;
    let slowest = 0;

    // A try that has no answer in 10 s counts as a network error. (tests/balancer.mjs leaves a
    // keep-alive connection stalled after it answers 502 to a request with a body: the next
    // request sent on it gets no answer until the balancer drops the idle connection, 30 s on.)
    const TRY_TIMEOUT_MS = 10_000;
    /** The client's loop: retried on a network error, 502 or any 5xx, with a short backoff. */
    const withRetries = async (what, fn) => {
      for (let attempt = 1; ; attempt += 1) {
        const before = counts();
        const r = await fn();
        r.server = who(before);
        slowest = Math.max(slowest, r.ms);
        log.push(`${what} try ${attempt}: ${r.status === 0 ? r.error : r.status} (server ${r.server}, ${r.ms} ms)`);
        if (r.status !== 0 && r.status < 500) return r;
        if (attempt >= 10) return r;
        retries += 1;
        await sleep(100 * attempt);
      }
    };
    const api = (path, body) => () =>
      call(`${balancer.url}/v1/files/multipart/${path}`, {
        method: 'POST',
        timeoutMs: TRY_TIMEOUT_MS,
        headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const began = Date.now();
    const init = await withRetries('init', api('init', { path: 'multipart', name: 'big.bin', size: data.length, partSize: PART, checksum: 'sha256' }));
    assert.equal(init.status, 200, `init: ${describeAnswer(init)}`);
    const { uploadId, partCount, partSize } = json(init);
    assert.equal(partSize, PART);
    assert.equal(partCount, 6);
    const signedBefore = counts();
    const presign = await withRetries('presign', api('presigned-url', { uploadId, partNumbers: [1, 2, 3, 4, 5, 6] }));
    assert.equal(presign.status, 200, `presign: ${describeAnswer(presign)}`);
    const signedBy = who(signedBefore);
    const { parts } = json(presign);
    assert.equal(parts.length, 6);

    const etags = [];
    const storedBy = [];
    let killedAt = null;
    for (const part of parts) {
      const n = part.partNumber;
      if (n === 3) {
        // Two parts sent: server A dies without a word.
        const exited = new Promise((resolve) => a.child.once('exit', resolve));
        a.child.kill('SIGKILL');
        await exited;
        killedAt = Date.now() - began;
        log.push(`server A SIGKILLed after part 2`);
      }
      // The URL names the server that signed it; a deployment's --public-url names the balancer.
      const signed = new URL(part.url);
      const url = new URL(signed.pathname + signed.search, balancer.url).href;
      const bytes = data.subarray((n - 1) * PART, Math.min(n * PART, data.length));
      const r = await withRetries(`part ${n}`, () =>
        call(url, {
          method: part.method,
          timeoutMs: TRY_TIMEOUT_MS,
          headers: { ...part.headers, 'x-stowage-checksum-sha256': createHash('sha256').update(bytes).digest('base64') },
          body: bytes,
        }),
      );
      assert.equal(r.status, 200, `part ${n}: ${describeAnswer(r)}\n${log.join('\n')}`);
      const etag = json(r)?.etag ?? r.headers.get('etag');
      assert.ok(etag, `part ${n} answered an ETag`);
      etags.push({ partNumber: n, etag });
      storedBy.push(`${n}:${r.server}`);
    }
    const complete = await withRetries('complete', api('complete', { uploadId, parts: etags }));
    const uploadMs = Date.now() - began;
    assert.equal(complete.status, 200, `complete: ${describeAnswer(complete)}\n${log.join('\n')}`);
    const done = json(complete);
    assert.equal(done.size, data.length);
    assert.equal(done.checksum, createHash('sha256').update(data).digest('base64'), 'the whole-file SHA-256 the server answered');
    assert.equal(complete.server, 'B', 'server B completed the upload');
    assert.deepEqual(storedBy.slice(2).filter((x) => !x.endsWith(':B')), [], `server B stored the parts after the kill (${storedBy.join(' ')})`);

    // Byte-identical, from B directly and through the balancer (which skips A, down).
    for (const [where, base] of [['server B', b.url], ['balancer', balancer.url]]) {
      const r = await call(filesUrl(base, 'multipart/big.bin'));
      assert.equal(r.status, 200, `download from ${where}: ${describeAnswer(r)}`);
      assert.equal(sha256(r.body), sha256(data), `the download from ${where} is byte-identical`);
    }
    say(
      `Stowage server killed: ${(data.length / MIB).toFixed(1)} MiB in ${partCount} parts, parts signed by server ${signedBy}, ` +
        `stored by server (part:server) ${storedBy.join(' ')}, server A killed at ${seconds(killedAt)}, completed by server ${complete.server} in ${seconds(uploadMs)} ` +
        `with ${retries} retries (slowest try ${seconds(slowest)}); downloads from B and through the balancer byte-identical`,
    );
    for (const line of log) say(`  ${line}`);
  });
});

async function stopAll() {
  const steps = [
    () => cluster.balancer?.close(),
    ...cluster.servers.map((s) => () => s.stop()),
    () => cluster.garage?.stop(),
    () => cluster.postgres?.stop(),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      say(`teardown: ${err.message}`);
    }
  }
  cluster.balancer = null;
  cluster.servers = [];
  cluster.garage = null;
  cluster.postgres = null;
}
