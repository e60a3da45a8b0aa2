// The load run of issue 11 (section 5): 64 clients mixing uploads of 4 KiB to 8 MiB, overwrites,
// downloads (length checked, SHA-256 for a sample), listings and multipart uploads against one
// release `stowage-devserver` on loopback, first clean, then with 500 slow raw-TCP clients added
// (headers at 1 byte/s, a body at 1 byte/s, a stall after a few KiB, an idle keep-alive). Every
// second it samples the server's RSS, open descriptors and `tmp/` files. Bounded: loopback only,
// about 2 × `--seconds` plus start-up and settling; the data directory is removed at the end.
//
//   node bench/soak.mjs                 60 s clean, then 60 s with 500 slow clients
//   node bench/soak.mjs --quick         10 s each, a smoke run
//   flags: --seconds N, --clients N (64), --slow N (500), --slow-mix headers=1,body=1,stall=1,idle=1,
//          --warmup N (seconds before the "after warm-up" sample; default min(10, seconds / 2)),
//          --seed N, --bin FILE (default target/release/stowage-devserver; build it with
//          `cargo build -p stowage-devserver --release`), --server-arg=--max-uploads=1024 (repeatable),
//          --out FILE (default bench/artifacts/soak.json)
//
// A human summary goes to stderr, the figures to the JSON file. Exits 1 when any request failed
// (a non-2xx answer, a network error or a verification failure), when memory or descriptors are
// not flat (the live heap from `/metrics`; RSS must come back within 30 s of the load), or when a kind's p99 with slow clients is more than 2× the clean run's.

import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_KEY, APP_ID, DEFAULT_BIN, ROOT, startServer } from '../tests/server.mjs';
import { KIB, MIB, fingerprint, machine, pressure, run, sleep } from './measure.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    clients: { type: 'string', default: '64' },
    slow: { type: 'string', default: '500' },
    'slow-mix': { type: 'string', default: 'headers=1,body=1,stall=1,idle=1' },
    warmup: { type: 'string' },
    seed: { type: 'string', default: '11' },
    bin: { type: 'string', default: DEFAULT_BIN },
    'server-arg': { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: 'bench/artifacts/soak.json' },
  },
});

const SECONDS = Number(flags.seconds ?? (flags.quick ? 10 : 60));
const CLIENTS = Number(flags.clients);
const SLOW = Number(flags.slow);
const WARMUP = Number(flags.warmup ?? Math.min(10, SECONDS / 2));
const SEED = Number(flags.seed);
const OUT = resolve(ROOT, flags.out);
const ARTIFACTS = join(ROOT, 'bench', 'artifacts');

/** Multipart parts of this size (the server is started with it as `--min-part-size`). */
const PART_SIZE = 256 * KIB;
/** Random bytes every body is a slice of. */
const POOL = randomBytes(16 * MIB);
/** Share of downloads whose bytes are checked by SHA-256 (all have their length checked). */
const SHA_SAMPLE = 0.25;
/** One request taking longer than this is an error (a hang), not a slow answer. */
const OP_TIMEOUT_MS = 60_000;
/** Past this many live bytes in a phase, new uploads become overwrites (bounds the disk). */
const LIVE_BUDGET = 4 * 1024 * MIB;
/** How often each kind of operation is chosen. */
const WEIGHTS = { upload: 30, overwrite: 10, download: 35, list: 15, multipart: 10 };
const KINDS = Object.keys(WEIGHTS);
/** Memory and descriptors are "flat" when the end of a phase is within this of the sample after warm-up. */
const FLAT = { rssSlackBytes: 16 * MIB, rssSlackShare: 0.25, fdSlack: 16, fdSlackShare: 0.25 };
/**
 * After a phase, the server's descriptors other than the catalog's (SQLite's pool grows under
 * load and keeps its connections: a database and a WAL descriptor each) must come back to
 * within this of its idle start, and `tmp/` must be empty.
 */
const SETTLED_FD_SLACK = 4;
/** Descriptors of the catalog's SQLite files. */
const catalogFds = (targets) => Object.entries(targets).filter(([t]) => t.startsWith('{data}/stowage.db')).reduce((n, [, c]) => n + c, 0);

const log = (line) => console.error(`[soak] ${line}`);
const round = (x, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);
const loadavg = () => os.loadavg().map((x) => round(x));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** A small seeded generator (mulberry32): the same seed gives the same choices of kind, size and target. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A body size from 4 KiB to 8 MiB, skewed to small: median ≈ 10 KiB, mean ≈ 0.4 MiB. */
const bodySize = (rand) => Math.floor(4 * KIB * 2048 ** rand() ** 3);

/** A version of a file's bytes: a slice of the pool, its SHA-256 computed when first needed. */
function version(rand, size) {
  return { off: Math.floor(rand() * (POOL.length - size)), size, sha: null };
}
const bytesOf = (v) => POOL.subarray(v.off, v.off + v.size);
const shaOf = (v) => (v.sha ??= sha256(bytesOf(v)));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A failed operation: a non-2xx answer (`status`), a network error (`status` 0) or a failed check. */
class OpError extends Error {
  constructor(status, message, details = {}) {
    super(message);
    this.status = status;
    Object.assign(this, details);
  }
}

/**
 * The files a phase has stored, as the clients know them: each path with its versions (slices
 * of the pool) and the last acknowledged one. An overwrite marks its file busy, so that one
 * file has at most one write in flight and its versions are in commit order.
 */
class Catalog {
  constructor(phase) {
    this.phase = phase;
    this.entries = [];
    this.liveBytes = 0;
  }

  add(path, owner, v) {
    this.entries.push({ path, owner, versions: [v], acked: 0, busy: false });
    this.liveBytes += v.size;
  }

  pick(rand, idleOnly = false) {
    if (this.entries.length === 0) return null;
    for (let tries = 0; tries < 8; tries += 1) {
      const entry = this.entries[Math.floor(rand() * this.entries.length)];
      if (!idleOnly || !entry.busy) return entry;
    }
    return null;
  }
}

/** Latencies and bytes of successful operations, per kind, and every error. */
class Stats {
  constructor(phase) {
    this.phase = phase;
    this.kinds = Object.fromEntries(KINDS.map((k) => [k, { ms: [], bytesUp: 0, bytesDown: 0 }]));
    this.errors = [];
    this.started = performance.now();
  }

  ok(kind, ms, { up = 0, down = 0 } = {}) {
    const k = this.kinds[kind];
    k.ms.push(ms);
    k.bytesUp += up;
    k.bytesDown += down;
  }

  fail(kind, err, ms) {
    this.errors.push({
      phase: this.phase,
      kind,
      atS: round((performance.now() - this.started) / 1000, 1),
      ms: round(ms, 1),
      status: err.status ?? 0,
      code: err.code ?? null,
      message: String(err.message).slice(0, 300),
      path: err.path ?? null,
    });
  }

  /** Counts, rates and percentiles over `seconds` of wall time. */
  summary(seconds) {
    const perKind = {};
    let ops = 0;
    let up = 0;
    let down = 0;
    const all = [];
    for (const [kind, k] of Object.entries(this.kinds)) {
      const sorted = [...k.ms].sort((a, b) => a - b);
      all.push(...sorted);
      ops += sorted.length;
      up += k.bytesUp;
      down += k.bytesDown;
      perKind[kind] = {
        ok: sorted.length,
        errors: this.errors.filter((e) => e.kind === kind).length,
        opsPerSec: round(sorted.length / seconds),
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted[sorted.length - 1]),
        upMiB: round(k.bytesUp / MIB, 1),
        downMiB: round(k.bytesDown / MIB, 1),
      };
    }
    all.sort((a, b) => a - b);
    return {
      seconds: round(seconds),
      ops,
      opsPerSec: round(ops / seconds, 1),
      upMiBPerSec: round(up / MIB / seconds, 1),
      downMiBPerSec: round(down / MIB / seconds, 1),
      totalMiBPerSec: round((up + down) / MIB / seconds, 1),
      p50Ms: round(percentile(all, 50)),
      p99Ms: round(percentile(all, 99)),
      errors: this.errors.length,
      perKind,
    };
  }
}

/** The URL of a Backendless path of the open demo app. */
const filesUrl = (server, path) => `${server.url}/${APP_ID}/${API_KEY}/files/${path}`;

/** One request; answers `{response, body}` for a 2xx and throws an `OpError` for anything else. */
async function call(url, init = {}, path = null) {
  let response;
  let body;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(OP_TIMEOUT_MS) });
    body = Buffer.from(await response.arrayBuffer());
  } catch (err) {
    const why = err.name === 'TimeoutError' ? `no answer within ${OP_TIMEOUT_MS / 1000} s` : `${err.message} (${err.cause?.code ?? err.cause?.message ?? 'no cause'})`;
    throw new OpError(0, `${init.method ?? 'GET'} failed: ${why}`, { path });
  }
  if (!response.ok) {
    const text = body.toString('utf8', 0, 300);
    let code = null;
    try {
      code = JSON.parse(body.toString()).code ?? null;
    } catch {
      // not JSON
    }
    throw new OpError(response.status, `${init.method ?? 'GET'} HTTP ${response.status}: ${text}`, { code, path });
  }
  return { response, body };
}

/** POSTs JSON to a `/v1/files/multipart/…` route; answers the parsed answer. */
async function control(server, route, payload) {
  const { body } = await call(
    `${server.url}/v1/files/multipart/${route}`,
    { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': API_KEY }, body: JSON.stringify(payload) },
    `multipart/${route}`,
  );
  return JSON.parse(body.toString());
}

/**
 * The operations a client runs. Each sets `ctx.kind` to what it does and answers the bytes it
 * moved, or throws an `OpError`.
 */
const OPS = {
  /** A raw upload to a fresh path (`overwrite=false`, so a collision would show as 6003). */
  async upload(ctx, rand, fresh = false) {
    if (!fresh && ctx.catalog.liveBytes > LIVE_BUDGET) return OPS.overwrite(ctx, rand);
    ctx.kind = 'upload';
    const v = version(rand, bodySize(rand));
    const path = `soak/${ctx.catalog.phase}/c${ctx.client}/u${ctx.seq++}.bin`;
    await call(`${filesUrl(ctx.server, path)}?overwrite=false`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytesOf(v),
    }, path);
    ctx.catalog.add(path, ctx.client, v);
    return { up: v.size };
  },

  /** New bytes for a file stored earlier (by any client), with `overwrite=true`. */
  async overwrite(ctx, rand) {
    const entry = ctx.catalog.pick(rand, true);
    if (!entry) return OPS.upload(ctx, rand, true);
    ctx.kind = 'overwrite';
    entry.busy = true;
    const v = version(rand, bodySize(rand));
    entry.versions.push(v);
    try {
      await call(`${filesUrl(ctx.server, entry.path)}?overwrite=true`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: bytesOf(v),
      }, entry.path);
      ctx.catalog.liveBytes += v.size - entry.versions[entry.acked].size;
      entry.acked = entry.versions.length - 1;
    } finally {
      entry.busy = false;
    }
    return { up: v.size };
  },

  /**
   * A stored file: its length must be one of the versions acknowledged at the start or written
   * since (an overwrite may land meanwhile), and for a sample its SHA-256 must match one of them.
   */
  async download(ctx, rand) {
    const entry = ctx.catalog.pick(rand);
    if (!entry) return OPS.upload(ctx, rand);
    ctx.kind = 'download';
    // The versions acknowledged when the download starts, and every one written since: taken
    // after the answer, so an overwrite that starts meanwhile and lands first is one of them.
    const ackedAtStart = entry.acked;
    const { response, body } = await call(filesUrl(ctx.server, entry.path), {}, entry.path);
    const candidates = entry.versions.slice(ackedAtStart);
    const declared = Number(response.headers.get('content-length'));
    if (declared !== body.length) {
      throw new OpError(200, `Content-Length ${declared} but ${body.length} bytes arrived`, { path: entry.path });
    }
    const sameSize = candidates.filter((v) => v.size === body.length);
    if (sameSize.length === 0) {
      throw new OpError(200, `got ${body.length} bytes, expected ${candidates.map((v) => v.size).join(' or ')}`, { path: entry.path });
    }
    if (rand() < SHA_SAMPLE) {
      ctx.shaChecked += 1;
      const got = sha256(body);
      if (!sameSize.some((v) => shaOf(v).equals(got))) {
        throw new OpError(200, `SHA-256 ${got.toString('hex').slice(0, 16)}… matches no version of ${body.length} bytes`, { path: entry.path });
      }
    }
    return { down: body.length };
  },

  /** One page of a client's directory (70 %) or of the whole phase with `sub=true` (30 %). */
  async list(ctx, rand) {
    const entry = ctx.catalog.pick(rand);
    if (!entry) return OPS.upload(ctx, rand);
    ctx.kind = 'list';
    const deep = rand() < 0.3;
    const dir = deep ? `soak/${ctx.catalog.phase}` : `soak/${ctx.catalog.phase}/c${entry.owner}`;
    const { body } = await call(`${filesUrl(ctx.server, dir)}?pagesize=100${deep ? '&sub=true' : ''}`, {}, dir);
    let page;
    try {
      page = JSON.parse(body.toString());
    } catch {
      throw new OpError(200, `listing is not JSON: ${body.toString('utf8', 0, 100)}`, { path: dir });
    }
    if (!Array.isArray(page) || page.length === 0) {
      throw new OpError(200, `listing of a directory holding files answered ${JSON.stringify(page).slice(0, 100)}`, { path: dir });
    }
    return { down: body.length };
  },

  /**
   * A multipart upload of 2 to 4 parts of `PART_SIZE` (the last one shorter), half of them with
   * per-part SHA-256 checksums whose combined result is checked against the whole body's.
   */
  async multipart(ctx, rand) {
    ctx.kind = 'multipart';
    const count = 2 + Math.floor(rand() * 3);
    const size = (count - 1) * PART_SIZE + 1 + Math.floor(rand() * PART_SIZE);
    const v = version(rand, size);
    const body = bytesOf(v);
    const checksum = rand() < 0.5 ? 'sha256' : 'none';
    const dir = `/soak/${ctx.catalog.phase}/c${ctx.client}`;
    const name = `m${ctx.seq++}.bin`;
    const init = await control(ctx.server, 'init', { path: dir, name, size, partSize: PART_SIZE, checksum, overwrite: false });
    if (init.partCount !== count || init.partSize !== PART_SIZE) {
      throw new OpError(200, `init planned ${init.partCount} parts of ${init.partSize}, expected ${count} of ${PART_SIZE}`, { path: `${dir}/${name}` });
    }
    const numbers = Array.from({ length: count }, (_, i) => i + 1);
    const { parts } = await control(ctx.server, 'presigned-url', { uploadId: init.uploadId, partNumbers: numbers });
    const done = [];
    for (const part of parts) {
      const start = (part.partNumber - 1) * PART_SIZE;
      const bytes = body.subarray(start, Math.min(size, start + PART_SIZE));
      const headers = checksum === 'sha256' ? { 'x-stowage-checksum-sha256': sha256(bytes).toString('base64') } : {};
      const url = part.url.startsWith('http') ? part.url : `${ctx.server.url}${part.url}`;
      const { response, body: answer } = await call(url, { method: 'PUT', headers, body: bytes }, `${dir}/${name}#${part.partNumber}`);
      const etag = response.headers.get('etag') ?? JSON.parse(answer.toString()).etag;
      done.push({ partNumber: part.partNumber, etag });
    }
    const result = await control(ctx.server, 'complete', { uploadId: init.uploadId, parts: done });
    if (result.size !== size) throw new OpError(200, `complete answered size ${result.size}, sent ${size}`, { path: `${dir}/${name}` });
    if (checksum === 'sha256' && result.checksum !== shaOf(v).toString('base64')) {
      throw new OpError(200, `complete answered checksum ${result.checksum}, the body's is ${shaOf(v).toString('base64')}`, { path: `${dir}/${name}` });
    }
    ctx.catalog.add(`${dir.slice(1)}/${name}`, ctx.client, v);
    return { up: size };
  },
};

function pickKind(rand) {
  let r = rand() * KINDS.reduce((sum, k) => sum + WEIGHTS[k], 0);
  for (const kind of KINDS) {
    r -= WEIGHTS[kind];
    if (r < 0) return kind;
  }
  return KINDS[0];
}

/** One normal client: operations back to back until the deadline (the one in flight then finishes). */
async function client({ server, catalog, stats, deadline, index, seed }) {
  const rand = rng(seed * 1000 + index);
  const ctx = { server, catalog, client: index, seq: 0, shaChecked: 0, kind: null };
  while (performance.now() < deadline) {
    const started = performance.now();
    // An operation that finds nothing to work on yet runs another (a download before any
    // upload is an upload); `ctx.kind` names the one that ran.
    try {
      const moved = await OPS[pickKind(rand)](ctx, rand);
      stats.ok(ctx.kind, performance.now() - started, moved);
    } catch (err) {
      if (!(err instanceof OpError)) throw err;
      stats.fail(ctx.kind, err, performance.now() - started);
    }
  }
  return ctx.shaChecked;
}

/**
 * Samples the server once a second: RSS (VmRSS), open descriptors (/proc/PID/fd), files in
 * `{data}/tmp`, the allocator's live heap (`stowage_heap_bytes{kind="allocated"}` of
 * `/metrics`: what the server holds, as against what the allocator keeps mapped), and the slow
 * connections open on our side.
 */
class Monitor {
  constructor(pid, dataDir, url) {
    this.pid = pid;
    this.dataDir = dataDir;
    this.url = url;
    this.heapBytes = null;
    this.t0 = performance.now();
    this.phase = 'start';
    this.phaseT0 = this.t0;
    this.slowOpen = () => 0;
    this.series = [];
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  /** The live heap, from `/metrics` (fetched in the background; the last answer is kept). */
  async readHeap() {
    try {
      const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      const m = (await res.text()).match(/^stowage_heap_bytes\{kind="allocated"\} (\d+)/m);
      if (m) this.heapBytes = Number(m[1]);
    } catch {
      // a busy server answers later; the last figure stands
    }
  }

  read() {
    void this.readHeap();
    let rss = null;
    let fds = null;
    try {
      rss = Number(readFileSync(`/proc/${this.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]) * KIB;
      fds = readdirSync(`/proc/${this.pid}/fd`).length;
    } catch {
      return null;
    }
    let tmpFiles = 0;
    try {
      tmpFiles = readdirSync(join(this.dataDir, 'tmp')).length;
    } catch {
      // no tmp/ yet
    }
    return { rss, fds, tmpFiles };
  }

  /** What the descriptors point at, counted: `socket`, `anon_inode:[eventpoll]`, `{data}/stowage.db`… */
  fdTargets() {
    const counts = {};
    try {
      for (const fd of readdirSync(`/proc/${this.pid}/fd`)) {
        let target;
        try {
          target = readlinkSync(`/proc/${this.pid}/fd/${fd}`);
        } catch {
          continue;
        }
        target = target.replace(this.dataDir, '{data}').replace(/^(socket|pipe):\[\d+\]$/, '$1').replace(/\/tmp\/[0-9a-z-]+$/, '/tmp/<id>');
        counts[target] = (counts[target] ?? 0) + 1;
      }
    } catch {
      // gone
    }
    return counts;
  }

  setPhase(phase) {
    this.phase = phase;
    this.phaseT0 = performance.now();
  }

  /** Takes one sample now, keeps it in the series and answers it. */
  sample() {
    const now = this.read();
    if (!now) return null;
    const t = performance.now();
    const s = {
      t: round((t - this.t0) / 1000, 1),
      phase: this.phase,
      tPhase: round((t - this.phaseT0) / 1000, 1),
      rssMiB: round(now.rss / MIB, 1),
      heapMiB: this.heapBytes === null ? null : round(this.heapBytes / MIB, 1),
      fds: now.fds,
      tmpFiles: now.tmpFiles,
      slowOpen: this.slowOpen(),
    };
    this.series.push(s);
    return s;
  }

  stop() {
    clearInterval(this.timer);
  }
}

const SLOW_KINDS = ['headers', 'body', 'stall', 'idle'];

/**
 * Slow clients on raw sockets, each kept open: when the server closes one, it comes back a
 * second later, so the pressure stays. Kinds: `headers` sends a GET head at 1 byte/s; `body`
 * sends a whole upload head (Content-Length 1 MiB) then the body at 1 byte/s; `stall` sends
 * the head and 4–16 KiB of body, then nothing; `idle` sends one GET, reads its answer and
 * then sits on the keep-alive connection.
 */
class SlowCrowd {
  constructor({ port, counts }) {
    this.port = port;
    this.counts = counts;
    this.open = new Set();
    this.closed = [];
    this.stopping = false;
    this.started = performance.now();
    this.seq = 0;
  }

  async start() {
    for (const [kind, count] of Object.entries(this.counts)) {
      for (let i = 0; i < count; i += 1) {
        this.#connect(kind);
        if (i % 50 === 49) await sleep(50);
      }
    }
  }

  #connect(kind) {
    const socket = connect({ host: '127.0.0.1', port: this.port });
    const conn = { kind, socket, opened: performance.now(), status: null, sent: 0, error: null, timer: null };
    this.open.add(conn);
    socket.setNoDelay(true);
    socket.on('error', (err) => (conn.error = err.code ?? err.message));
    socket.on('data', (data) => {
      if (conn.status === null) conn.status = Number(data.toString('latin1', 0, 16).match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? -1);
    });
    socket.on('close', () => this.#closed(conn));
    socket.on('connect', () => this.#behave(conn));
  }

  /** Writes `text` one byte a second. */
  #drip(conn, bytes) {
    let at = 0;
    conn.timer = setInterval(() => {
      if (at >= bytes.length || conn.socket.destroyed) return clearInterval(conn.timer);
      conn.socket.write(bytes.subarray(at, at + 1));
      at += 1;
      conn.sent += 1;
    }, 1000);
  }

  #behave(conn) {
    const host = `Host: 127.0.0.1:${this.port}\r\n`;
    const upload = `POST /${APP_ID}/${API_KEY}/files/soak/slow/${conn.kind}-${this.seq++}.bin?overwrite=true HTTP/1.1\r\n${host}` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${MIB}\r\n\r\n`;
    if (conn.kind === 'headers') {
      this.#drip(conn, Buffer.from(`GET /${APP_ID}/${API_KEY}/info HTTP/1.1\r\n${host}X-Slow: ${'z'.repeat(400)}\r\n\r\n`));
    } else if (conn.kind === 'body') {
      conn.socket.write(upload);
      this.#drip(conn, randomBytes(MIB));
    } else if (conn.kind === 'stall') {
      const some = randomBytes(4 * KIB + Math.floor(Math.random() * 12 * KIB));
      conn.socket.write(upload);
      conn.socket.write(some);
      conn.sent = some.length;
    } else {
      conn.socket.write(`GET /${APP_ID}/${API_KEY}/info HTTP/1.1\r\n${host}\r\n`);
    }
  }

  #closed(conn) {
    clearInterval(conn.timer);
    if (!this.open.delete(conn)) return;
    this.closed.push({ kind: conn.kind, by: this.stopping ? 'us' : 'server', afterS: (performance.now() - conn.opened) / 1000, status: conn.status, error: conn.error });
    if (!this.stopping) setTimeout(() => !this.stopping && this.#connect(conn.kind), 1000).unref();
  }

  /** Closes every connection still open; answers the outcome per kind. */
  stop() {
    this.stopping = true;
    const now = performance.now();
    const stillOpen = [...this.open].map((c) => ({ kind: c.kind, ageS: (now - c.opened) / 1000, status: c.status, sent: c.sent }));
    for (const conn of [...this.open]) {
      clearInterval(conn.timer);
      conn.socket.destroy();
    }
    const outcome = {};
    for (const kind of Object.keys(this.counts)) {
      const closed = this.closed.filter((c) => c.kind === kind && c.by === 'server');
      const open = stillOpen.filter((c) => c.kind === kind);
      const after = closed.map((c) => c.afterS).sort((a, b) => a - b);
      const statuses = {};
      for (const c of closed) statuses[c.status ?? 'none'] = (statuses[c.status ?? 'none'] ?? 0) + 1;
      const errors = {};
      for (const c of closed.filter((x) => x.error)) errors[c.error] = (errors[c.error] ?? 0) + 1;
      outcome[kind] = {
        clients: this.counts[kind],
        connections: closed.length + open.length,
        closedByServer: closed.length,
        closedAfterS: after.length ? { min: round(after[0], 1), p50: round(percentile(after, 50), 1), max: round(after[after.length - 1], 1) } : null,
        answersBeforeClose: statuses,
        socketErrors: errors,
        stillOpenAtEnd: open.length,
        stillOpenAgeS: open.length ? { min: round(Math.min(...open.map((c) => c.ageS)), 1), max: round(Math.max(...open.map((c) => c.ageS)), 1) } : null,
        stillOpenAnswered: open.filter((c) => c.status !== null).length,
      };
    }
    return outcome;
  }
}

/** Splits `--slow N` by the `--slow-mix` weights into counts per kind. */
function slowCounts(total, mix) {
  const weights = Object.fromEntries(mix.split(',').map((pair) => pair.split('=')).map(([k, w]) => [k.trim(), Number(w ?? 1)]));
  for (const kind of Object.keys(weights)) {
    if (!SLOW_KINDS.includes(kind)) throw new Error(`--slow-mix: unknown kind ${kind}; known: ${SLOW_KINDS.join(', ')}`);
  }
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  const counts = {};
  let given = 0;
  for (const [kind, w] of Object.entries(weights)) {
    counts[kind] = Math.floor((total * w) / sum);
    given += counts[kind];
  }
  for (const kind of Object.keys(counts)) if (given < total) (counts[kind] += 1), (given += 1);
  return counts;
}

/** Waits (up to 20 s) until the server's non-catalog descriptors are back to `baseline`'s and `tmp/` is empty. */
async function settle(monitor, baseline) {
  const started = performance.now();
  const read = () => {
    const s = monitor.sample();
    const fdTargets = monitor.fdTargets();
    return s && { ...s, catalogFds: catalogFds(fdTargets), otherFds: s.fds - catalogFds(fdTargets), fdTargets };
  };
  let s = read();
  const done = () => s.otherFds <= baseline.otherFds + SETTLED_FD_SLACK && s.tmpFiles === 0;
  while (performance.now() - started < 20_000 && s && !done()) {
    await sleep(500);
    s = read();
  }
  return { ...s, ok: Boolean(s && done()), afterS: round((performance.now() - started) / 1000, 1) };
}

/** RSS and descriptors of one phase: start, after warm-up, max, end of load, and the "flat" verdict. */
function resources(series, phase, endOfLoad, settled, baseline) {
  const samples = series.filter((s) => s.phase === phase && s.tPhase <= endOfLoad.tPhase);
  const warm = samples.find((s) => s.tPhase >= WARMUP) ?? samples[0];
  const first = samples[0];
  const rssLimit = warm.rssMiB + Math.max(FLAT.rssSlackBytes / MIB, warm.rssMiB * FLAT.rssSlackShare);
  const fdLimit = warm.fds + Math.max(FLAT.fdSlack, Math.ceil(warm.fds * FLAT.fdSlackShare));
  const rssFlat = endOfLoad.rssMiB <= rssLimit;
  const fdsFlat = endOfLoad.fds <= fdLimit;
  const settledOk = settled.ok;
  // Memory is judged by the live heap (what the server holds), not RSS (which also counts the
  // pages the allocator keeps for reuse and returns only after its decay time): it must not
  // grow under steady load, and must come back to the idle level once the load is gone.
  const heapKnown = Number.isFinite(warm.heapMiB) && Number.isFinite(endOfLoad.heapMiB);
  const heapLimit = heapKnown ? warm.heapMiB + Math.max(FLAT.rssSlackBytes / MIB, warm.heapMiB * FLAT.rssSlackShare) : null;
  const heapFlat = heapKnown ? endOfLoad.heapMiB <= heapLimit : rssFlat;
  const heapSettled = Number.isFinite(settled.heapMiB) && Number.isFinite(baseline.heapMiB) ? settled.heapMiB <= baseline.heapMiB + FLAT.rssSlackBytes / MIB : true;
  return {
    rssMiB: { start: first.rssMiB, afterWarmup: warm.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), end: endOfLoad.rssMiB, limit: round(rssLimit, 1), settled: settled.rssMiB },
    heapMiB: { start: first.heapMiB, afterWarmup: warm.heapMiB, max: Math.max(...samples.map((s) => s.heapMiB ?? 0)), end: endOfLoad.heapMiB, limit: heapLimit === null ? null : round(heapLimit, 1), settled: settled.heapMiB, idleBaseline: baseline.heapMiB },
    fds: { start: first.fds, afterWarmup: warm.fds, max: Math.max(...samples.map((s) => s.fds)), end: endOfLoad.fds, limit: fdLimit, settled: settled.fds, settledCatalog: settled.catalogFds, settledOther: settled.otherFds, idleBaseline: baseline.fds, idleBaselineOther: baseline.otherFds },
    tmpFiles: { max: Math.max(...samples.map((s) => s.tmpFiles)), end: endOfLoad.tmpFiles, settled: settled.tmpFiles },
    settledAfterS: settled.afterS,
    warmupSampleAtS: warm.tPhase,
    flat: { heap: heapFlat, heapSettled, rssWithinSlack: rssFlat, fds: fdsFlat, settled: settledOk, all: heapFlat && heapSettled && fdsFlat && settledOk },
  };
}

/** One phase: optional slow clients first, then `CLIENTS` normal clients for `SECONDS`. */
async function runPhase({ name, server, monitor, baseline, slow }) {
  const loadStart = loadavg();
  let crowd = null;
  if (slow) {
    monitor.setPhase(`${name}-ramp`);
    crowd = new SlowCrowd({ port: server.port, counts: slow });
    monitor.slowOpen = () => crowd.open.size;
    await crowd.start();
    await sleep(2000);
    log(`${name}: ${crowd.open.size} slow connections open`);
  }
  monitor.setPhase(name);
  const catalog = new Catalog(name);
  const stats = new Stats(name);
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const progress = setInterval(() => {
    const s = monitor.series[monitor.series.length - 1];
    const ops = Object.values(stats.kinds).reduce((n, k) => n + k.ms.length, 0);
    log(`${name} ${((performance.now() - started) / 1000).toFixed(0)} s: ${ops} ops, ${stats.errors.length} errors, RSS ${s?.rssMiB} MiB, ${s?.fds} fds, ${s?.tmpFiles} tmp, ${s?.slowOpen} slow open`);
  }, 10_000);
  const sha = await Promise.all(Array.from({ length: CLIENTS }, (_, index) => client({ server, catalog, stats, deadline, index, seed: SEED + (slow ? 7 : 0) })));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  const endOfLoad = monitor.sample();
  const slowOutcome = crowd ? crowd.stop() : null;
  monitor.slowOpen = () => 0;
  const settled = await settle(monitor, baseline);
  const summary = stats.summary(seconds);
  return {
    summary: { ...summary, files: catalog.entries.length, liveMiB: round(catalog.liveBytes / MIB, 1), sha256Checked: sha.reduce((a, b) => a + b, 0) },
    resources: resources(monitor.series, name, endOfLoad, settled, baseline),
    slowClients: slowOutcome,
    loadAverage: { start: loadStart, end: loadavg() },
    pressureAtEnd: pressure(),
    errors: stats.errors,
  };
}

/** The defaults of the limit flags, as `--help` gives them, with our overrides applied. */
async function limitsOf(bin, extra) {
  const { stdout } = await run(bin, ['--help']);
  const limits = {};
  for (const flag of ['header-timeout', 'idle-timeout', 'body-timeout', 'max-connections', 'max-uploads', 'shutdown-grace', 'min-part-size']) {
    const m = stdout.match(new RegExp(`--${flag} <[^>]+>[\\s\\S]*?\\[default: (\\d+)\\]`));
    limits[flag] = m ? Number(m[1]) : null;
  }
  for (let i = 0; i < extra.length; i += 1) {
    const m = extra[i].match(/^--([a-z-]+)(?:=(.*))?$/);
    if (m && m[1] in limits) limits[m[1]] = Number(m[2] ?? extra[i + 1]);
  }
  return limits;
}

/** Counts and bytes of each top-level folder of the data directory. */
function dataDirSummary(dir) {
  const walk = (path) => {
    let files = 0;
    let bytes = 0;
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        const sub = walk(child);
        files += sub.files;
        bytes += sub.bytes;
      } else {
        files += 1;
        bytes += statSync(child).size;
      }
    }
    return { files, bytes };
  };
  const out = {};
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const r = entry.isDirectory() ? walk(join(dir, entry.name)) : { files: 1, bytes: statSync(join(dir, entry.name)).size };
    out[entry.name] = { files: r.files, MiB: round(r.bytes / MIB, 1) };
  }
  return out;
}

/** Warnings, errors and panics in the server's log. */
function logProblems(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const bad = lines.filter((l) => /\b(WARN|ERROR)\b|panicked/.test(l) && !l.includes('test hooks are on'));
  return { warnOrError: bad.length, first: bad.slice(0, 20).map((l) => l.slice(0, 300)) };
}

function printPhase(name, phase) {
  const s = phase.summary;
  log(`── ${name}: ${s.ops} ops in ${s.seconds} s = ${s.opsPerSec} ops/s, up ${s.upMiBPerSec} MiB/s, down ${s.downMiBPerSec} MiB/s, ${s.errors} errors, load ${phase.loadAverage.start.join(' ')} → ${phase.loadAverage.end.join(' ')}`);
  log(`   ${'kind'.padEnd(10)} ${'ok'.padStart(7)} ${'err'.padStart(5)} ${'ops/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}`);
  for (const [kind, k] of Object.entries(s.perKind)) {
    log(`   ${kind.padEnd(10)} ${String(k.ok).padStart(7)} ${String(k.errors).padStart(5)} ${String(k.opsPerSec).padStart(8)} ${String(k.p50Ms).padStart(8)} ${String(k.p99Ms).padStart(8)} ${String(k.maxMs).padStart(8)}`);
  }
  const r = phase.resources;
  log(`   RSS MiB start ${r.rssMiB.start}, after warm-up ${r.rssMiB.afterWarmup}, max ${r.rssMiB.max}, end ${r.rssMiB.end} (limit ${r.rssMiB.limit}), settled ${r.rssMiB.settled}`);
  log(`   live heap MiB start ${r.heapMiB.start}, after warm-up ${r.heapMiB.afterWarmup}, max ${r.heapMiB.max}, end ${r.heapMiB.end} (limit ${r.heapMiB.limit}), settled ${r.heapMiB.settled} (idle ${r.heapMiB.idleBaseline})`);
  log(`   fds start ${r.fds.start}, after warm-up ${r.fds.afterWarmup}, max ${r.fds.max}, end ${r.fds.end} (limit ${r.fds.limit}), settled ${r.fds.settled} (${r.fds.settledOther} besides the catalog's ${r.fds.settledCatalog}; idle ${r.fds.idleBaseline}, ${r.fds.idleBaselineOther} besides) after ${r.settledAfterS} s; tmp/ max ${r.tmpFiles.max}, settled ${r.tmpFiles.settled}`);
  log(`   flat: heap ${r.flat.heap}, heap settled ${r.flat.heapSettled}, fds ${r.flat.fds}, settled ${r.flat.settled} (RSS within slack: ${r.flat.rssWithinSlack})`);
  for (const [kind, o] of Object.entries(phase.slowClients ?? {})) {
    log(`   slow ${kind.padEnd(8)} ${o.clients} clients, ${o.connections} connections: ${o.closedByServer} closed by the server (after ${o.closedAfterS ? `${o.closedAfterS.min}–${o.closedAfterS.max} s, median ${o.closedAfterS.p50}` : '-'}; answers ${JSON.stringify(o.answersBeforeClose)}${Object.keys(o.socketErrors).length ? `, ${JSON.stringify(o.socketErrors)}` : ''}), ${o.stillOpenAtEnd} still open (ages ${o.stillOpenAgeS ? `${o.stillOpenAgeS.min}–${o.stillOpenAgeS.max} s` : '-'}, ${o.stillOpenAnswered} answered)`);
  }
}

function errorCounts(errors) {
  const by = {};
  for (const e of errors) {
    const key = `${e.phase} ${e.kind} ${e.status}${e.code ? ` ${e.code}` : ''}`;
    by[key] = (by[key] ?? 0) + 1;
  }
  return by;
}

async function main() {
  if (!existsSync(flags.bin)) throw new Error(`${flags.bin} does not exist: build it with \`cargo build -p stowage-devserver --release\``);
  process.env.RUST_LOG ??= 'warn';
  mkdirSync(ARTIFACTS, { recursive: true });
  // A copy of the binary, so that a rebuild elsewhere during the run cannot change it.
  const work = await mkdtemp(join(os.tmpdir(), 'stowage-soak-'));
  const bin = join(work, 'stowage-devserver');
  copyFileSync(flags.bin, bin);
  const serverArgs = ['--min-part-size', String(PART_SIZE), ...flags['server-arg']];
  const limits = await limitsOf(bin, serverArgs);
  const counts = slowCounts(SLOW, flags['slow-mix']);
  const startedAt = new Date().toISOString();
  const host = await machine({ root: ROOT });
  log(`${CLIENTS} clients × ${SECONDS} s clean, then with ${SLOW} slow clients ${JSON.stringify(counts)}; server ${serverArgs.join(' ')}; limits ${JSON.stringify(limits)}; load ${host.loadAverageAtStart.join(' ')}`);

  const logFile = join(ARTIFACTS, 'soak-devserver.log');
  const server = await startServer({ bin, logFile, args: serverArgs });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.stop();
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => stop().finally(() => process.exit(130)));
  try {
    const monitor = new Monitor(server.child.pid, server.dataDir, server.url);
    await sleep(1000);
    await monitor.readHeap();
    const first = monitor.sample();
    const fdTargets = monitor.fdTargets();
    const baseline = { ...first, fdTargets, catalogFds: catalogFds(fdTargets), otherFds: first.fds - catalogFds(fdTargets) };
    log(`server pid ${server.child.pid} on ${server.url}, data ${server.dataDir}: idle RSS ${baseline.rssMiB} MiB, ${baseline.fds} fds`);

    const clean = await runPhase({ name: 'clean', server, monitor, baseline, slow: null });
    printPhase('clean', clean);
    // The next phase starts from an empty store too: the clean files are deleted (timed).
    const deleteStarted = performance.now();
    const deleted = await call(filesUrl(server, 'soak/clean'), { method: 'DELETE' }).then(({ body }) => JSON.parse(body.toString()).deleted, (err) => `failed: ${err.message}`);
    const deleteMs = performance.now() - deleteStarted;
    log(`deleted soak/clean: ${deleted} entries in ${deleteMs.toFixed(0)} ms`);
    const between = await settle(monitor, baseline);
    const dirty = await runPhase({ name: 'slow', server, monitor, baseline, slow: SLOW > 0 ? counts : null });
    printPhase(`with ${SLOW} slow clients`, dirty);
    // RSS after the load: the allocator returns freed pages after its decay time (jemalloc's
    // background thread, 10 s); it must come back to the clean phase's level within 30 s.
    const rssGoal = clean.resources.rssMiB.max + FLAT.rssSlackBytes / MIB;
    const idleStarted = performance.now();
    let idle = monitor.sample();
    while (performance.now() - idleStarted < 30_000 && idle && idle.rssMiB > rssGoal) {
      await sleep(1000);
      idle = monitor.sample();
    }
    await monitor.readHeap();
    const rssAfterIdle = { rssMiB: idle?.rssMiB ?? null, heapMiB: monitor.heapBytes === null ? null : round(monitor.heapBytes / MIB, 1), goalMiB: round(rssGoal, 1), afterS: round((performance.now() - idleStarted) / 1000, 1) };
    rssAfterIdle.ok = rssAfterIdle.rssMiB !== null && rssAfterIdle.rssMiB <= rssGoal;
    log(`after the load: RSS ${rssAfterIdle.rssMiB} MiB (goal ≤ ${rssAfterIdle.goalMiB}, the clean phase's peak + ${FLAT.rssSlackBytes / MIB}) after ${rssAfterIdle.afterS} s idle, live heap ${rssAfterIdle.heapMiB} MiB`);
    monitor.stop();

    const dataDir = dataDirSummary(server.dataDir);
    const binary = fingerprint(flags.bin, bin);
    const exitBefore = server.child.exitCode;
    await stop();
    const serverExit = { code: server.child.exitCode, signal: server.child.signalCode, exitedDuringRun: exitBefore !== null };

    const ratios = {};
    for (const kind of KINDS) {
      const a = clean.summary.perKind[kind].p99Ms;
      const b = dirty.summary.perKind[kind].p99Ms;
      ratios[kind] = a && b ? round(b / a) : null;
    }
    const all = clean.summary.p99Ms && dirty.summary.p99Ms ? round(dirty.summary.p99Ms / clean.summary.p99Ms) : null;
    const maxRatio = Math.max(...Object.values(ratios).filter(Number.isFinite));
    const errors = [...clean.errors, ...dirty.errors];
    const verdict = {
      noErrors: errors.length === 0,
      flat: clean.resources.flat.all && dirty.resources.flat.all,
      rssReturns: rssAfterIdle.ok,
      p99WithinTwice: Number.isFinite(maxRatio) && maxRatio <= 2 && Object.values(ratios).every((r) => r !== null),
    };
    verdict.pass = verdict.noErrors && verdict.flat && verdict.rssReturns && verdict.p99WithinTwice;

    const strip = ({ errors: _e, ...rest }) => rest;
    const report = {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: `node bench/soak.mjs ${process.argv.slice(2).join(' ')}`.trim(),
      machine: { ...host, loadAverageAtEnd: loadavg() },
      server: { binary, args: serverArgs, limits, rustLog: process.env.RUST_LOG, exit: serverExit, log: logProblems(logFile), dataDirAtEnd: dataDir },
      plan: {
        seconds: SECONDS, clients: CLIENTS, slowClients: SLOW, slowMix: counts, warmupSeconds: WARMUP, seed: SEED,
        weights: WEIGHTS, sizes: '4 KiB × 2048^(u³), u uniform: 4 KiB–8 MiB, median ≈ 10 KiB, mean ≈ 0.4 MiB', partSize: PART_SIZE, multipartParts: '2–4',
        sha256Sample: SHA_SAMPLE, opTimeoutMs: OP_TIMEOUT_MS, flatRule: FLAT, settledFdSlack: SETTLED_FD_SLACK,
      },
      idleBaseline: baseline,
      clean: strip(clean),
      slow: strip(dirty),
      afterLoad: rssAfterIdle,
      between: { deletedCleanEntries: deleted, deleteMs: round(deleteMs), settled: between },
      p99Ratio: { perKind: ratios, allOps: all, max: round(maxRatio) },
      errors: { total: errors.length, counts: errorCounts(errors), list: errors.slice(0, 1000) },
      series: monitor.series,
      verdict,
    };
    mkdirSync(dirname(OUT), { recursive: true });
    await writeFile(OUT, `${JSON.stringify(report, null, 1)}\n`);

    log(`p99 ratio slow/clean: ${Object.entries(ratios).map(([k, r]) => `${k} ${r}`).join(', ')}; all ops ${all}`);
    log(`errors: ${errors.length}${errors.length ? ` ${JSON.stringify(errorCounts(errors))}` : ''}`);
    for (const e of errors.slice(0, 20)) log(`   ${e.phase} ${e.kind} at ${e.atS} s after ${e.ms} ms: ${e.message.replace(/\s+/g, ' ')}`);
    log(`server exit ${JSON.stringify(serverExit)}; log: ${report.server.log.warnOrError} warn/error lines; data dir at end ${JSON.stringify(dataDir)}`);
    log(`verdict ${JSON.stringify(verdict)}; wrote ${OUT}`);
    process.exitCode = verdict.pass ? 0 : 1;
  } finally {
    await stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
