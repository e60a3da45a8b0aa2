// The cluster half of the bench (issue 10, section 5): Stowage on a distributed deployment, set
// next to the physical limit of that deployment measured in the same run. Builds nothing.
//
//   node bench/cluster.mjs            256 MiB files, 3 rounds, 10 s of 4 KiB load: 6 to 7 minutes on
//                                     2 cores; writes bench/artifacts/cluster.json
//   node bench/cluster.mjs --quick    32 MiB, 1 round, 3 s of 4 KiB load: about 40 s;
//                                     writes bench/artifacts/cluster-quick.json
// Needs garage (scripts/setup.sh --garage), PostgreSQL (installed by tests/postgres.mjs when
// missing), curl, and autocannon (npm install; bench/loadgen.mjs). Garage keeps every upload's
// blocks (×3) for 10 minutes after they are overwritten or deleted, so each round runs on a fresh
// Garage cluster (and a fresh database and servers): a full run needs about 11 GiB free in the
// temporary directory for a moment, and checks that first. Garage's node logs go to
// tests/artifacts/ (tests/garage.mjs puts them there); the servers' (the last round's) and
// PostgreSQL's to bench/artifacts/.
//   flags: --out FILE (where the JSON goes)
//
// The deployment of each round: a 3-node Garage cluster (replication factor 3, tests/garage.mjs),
// one database of a throwaway PostgreSQL (tests/postgres.mjs, started once for the run), server A
// (`--database DB --blobs s3://BUCKET/bench`, talking to Garage node 0), server B (the same
// database and blobs, talking to node 1), server C (the same, talking to node 0 like A, with
// `--direct-to-store`: its /v1 multipart part URLs and download links are Garage's own presigned
// URLs), the tests' round-robin balancer (tests/balancer.mjs) over A and B, and one over A alone.
// Every request goes over loopback; everything shares the machine's cores.
//
// Each round runs every variant once, in an order rotated from round to round (the three
// multipart variants also trade places among themselves):
//   large files (curl, streamed from files on disk; every upload's bytes made unique first, as
//   Garage stores each 1 MiB block once and would skip writing a block it already holds):
//     s3-1      the physical limit: a SigV4-signed PUT of the file to Garage node 0, GET back
//     s3-2      two such PUTs at once (node 0 and node 1), then two GETs at once
//     one       POST through server A, GET back through A
//     two-lb    two POSTs at once through the balancer (one lands on A, one on B), two GETs
//     two-one   two POSTs at once through server A alone, two GETs
//     two-lb-a  two GETs at once of two-one's files through a balancer over A alone: the
//               balancer's own cost (downloads only, to keep Garage's disk use down)
//   multipart uploads of the same file in 8 MiB parts, 4 parts in flight (one curl --parallel,
//   each part streamed from its own file: the large file cut once, stamped like the others):
//     mp-s3     the multipart limit: CreateMultipartUpload, the parts and CompleteMultipartUpload
//               SigV4-signed straight to Garage node 0; GET of the object back (SigV4)
//     mp-a      /v1 multipart through server A: init, presigned-url (A's own part URLs), the
//               parts to A (which streams each into Garage), complete (A reads the parts back
//               and writes the joined object); GET of the fileURL through A
//     mp-direct /v1 multipart with server C (`--direct-to-store`): the part URLs are Garage's, the
//               parts go straight to node 0, complete has Garage join them (C then reads the
//               object once for its CRC32C); GET of C's download-url link, straight from Garage
//   small uploads (autocannon, bench/load.mjs `smallUploads`: 64 clients, 4 KiB, each to a new path):
//     s3        the physical limit: 4 KiB SigV4-signed PUTs straight to Garage node 0
//     a         server A alone
//     lb        the balancer over A and B
//     lb-a      the balancer over A alone: the balancer's own cost, to tell it from the servers'
// Ratios are paired by round (each run divided by its limit in the same round, then the median).
// Around every measured phase: the peak RSS of A, B and C (RssMonitor), the CPU time of each
// server, the Garage nodes, PostgreSQL and this process (which runs the balancer), and how busy
// the machine's cores were; around each multipart `complete`, its time and the CPU of the server
// that answered it.

import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBalancer } from '../tests/balancer.mjs';
import { findGarage, startGarage } from '../tests/garage.mjs';
import { createDatabase, startPostgres } from '../tests/postgres.mjs';
import { API_KEY, APP_ID, DEFAULT_BIN, ROOT, startServer } from '../tests/server.mjs';
import { smallUploads } from './load.mjs';
import { LOADGEN, uploadLoad } from './loadgen.mjs';
import { GIB, KIB, MIB, RssMonitor, fingerprint, machine, makeFile, median, mibPerSec, pressure, run, runOk, sizeLabel, sleep } from './measure.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const QUICK = flags.quick;
const PLAN = QUICK ? { sizeBytes: 32 * MIB, rounds: 1, smallSeconds: 3 } : { sizeBytes: 256 * MIB, rounds: 3, smallSeconds: 10 };
const ARTIFACTS = join(ROOT, 'bench', 'artifacts');
const OUT = resolve(ROOT, flags.out ?? join('bench', 'artifacts', QUICK ? 'cluster-quick.json' : 'cluster.json'));
const CLIENTS = 64;
/** Garage's replication factor: every byte stored is written on three nodes. */
const REPLICAS = 3;
// `two-lb-a` only downloads (the files `two-one` stored in the same round), after `two-one`.
// The multipart variants hold three slots; which of them takes which slot rotates by round.
const MULTIPART = ['mp-s3', 'mp-a', 'mp-direct'];
const LARGE = ['s3-1', 'mp-a', 's3-2', 'one', 'mp-direct', 'two-lb', 'two-one', 'mp-s3', 'two-lb-a'];
const SMALL = ['s3', 'a', 'lb', 'lb-a'];
/** Multipart uploads: the part size, and how many parts the client sends at once. */
const PART_SIZE = 8 * MIB;
const PARTS_IN_FLIGHT = 4;
/**
 * Uploads of the large file per round, for the disk space check: 8 plain, 3 multipart, and one
 * more for mp-a's joined object (its blocks are the parts' own, which Garage stores once, but
 * the margin costs nothing).
 */
const UPLOADS_PER_ROUND = 12;

const log = (line) => console.error(`[cluster] ${line}`);
const fixed = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const mib = (bytes) => (Number.isFinite(bytes) ? `${(bytes / MIB).toFixed(1)} MiB` : 'n/a');
const times = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
const quiet = (command, args) =>
  new Promise((done) => execFile(command, args, { timeout: 10_000 }, (err, stdout) => done(err ? '' : stdout.trim())));

// ---------------------------------------------------------------- CPU time, from /proc

const TICK = 100; // USER_HZ: /proc/PID/stat counts clock ticks of 1/100 s

/** CPU seconds (user + system) process `pid` has used, or NaN once it has gone. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return NaN;
  }
}

/** `{busy, total}` CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineCpu() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4]; // idle, iowait
  return { busy: (total - idle) / TICK, total: total / TICK };
}

/** The pids of the Garage nodes of the cluster in `dir` (`garage -c DIR/nodeI.toml server`). */
function garagePids(dir) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('server') && argv.some((a) => a.startsWith(join(dir, 'node')))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * CPU seconds of a PostgreSQL cluster: the postmaster's own and its reaped children's (utime,
 * stime, cutime, cstime), plus its live children's (the backends the servers' pools hold).
 */
function postgresCpuSeconds(postmaster) {
  const stat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  let ticks = 0;
  try {
    const own = stat(postmaster);
    ticks += Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  } catch {
    return NaN;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = stat(entry);
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / TICK;
}

/** The postmaster's pid: the first line of DATA/postmaster.pid. */
function postmasterPid(dir) {
  try {
    return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return NaN;
  }
}

/**
 * Runs `fn` with the memory of every server watched and the CPU of every part counted. Answers
 * `{ result, ms, peakRss: {a, b}, cpu: {a, b, garage, postgres, harness, machineBusy} }`: CPU seconds
 * used meanwhile, `harness` being this process (the balancer, curl's and the load generator's parent),
 * `machineBusy` the share of all cores that were busy.
 */
async function observe(deployment, phase, fn) {
  const { servers, garagePids: gpids, postmaster } = deployment;
  const before = {
    servers: servers.map((s) => cpuSeconds(s.pid)),
    garage: gpids.map(cpuSeconds),
    postgres: postgresCpuSeconds(postmaster),
    harness: process.cpuUsage(),
    machine: machineCpu(),
  };
  const peaks = {};
  const started = performance.now();
  // Each monitor resets its own process's high-water mark: nested, they watch the same span.
  const nested = servers.reduceRight(
    (inner, s) => async () => {
      const { result, peakRss } = await s.rss.measure(phase, inner);
      peaks[s.name] = peakRss;
      return result;
    },
    fn,
  );
  const result = await nested();
  const ms = performance.now() - started;
  const harness = process.cpuUsage(before.harness);
  const now = machineCpu();
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const cpu = {
    ...Object.fromEntries(servers.map((s, i) => [s.name, cpuSeconds(s.pid) - before.servers[i]])),
    garage: sum(gpids.map((pid, i) => cpuSeconds(pid) - before.garage[i])),
    postgres: postgresCpuSeconds(postmaster) - before.postgres,
    harness: (harness.user + harness.system) / 1e6,
    machineBusy: (now.busy - before.machine.busy) / Math.max(1e-9, now.total - before.machine.total),
  };
  return { result, ms, peakRss: peaks, cpu };
}

// ---------------------------------------------------------------- files and curl

/**
 * Makes the bytes of `path` unique to `token`: 16 bytes at the start of every 1 MiB block
 * (Garage's block size, and every part boundary of the server's 8 MiB parts is one too), so
 * Garage writes every block of every upload rather than finding it stored already.
 */
async function stamp(path, size, token) {
  const handle = await open(path, 'r+');
  try {
    const mark = Buffer.alloc(16);
    mark.write(token.padEnd(12, '.').slice(0, 12), 0, 'latin1');
    for (let at = 0, block = 0; at < size; at += MIB, block += 1) {
      mark.writeUInt32BE(block, 12);
      await handle.write(mark, 0, Math.min(16, size - at), at);
    }
  } finally {
    await handle.close();
  }
}

/** curl with `-w` fields answered as numbers; `-o` given or /dev/null. Fails on HTTP errors with the body. */
async function curl(args, { fields = ['time_total'], out = '/dev/null' } = {}) {
  const { stdout } = await runOk('curl', ['-sS', '--fail-with-body', '-o', out, '-w', fields.map((f) => `%{${f}}`).join(' '), ...args]);
  return stdout.trim().split(' ').map(Number);
}

/**
 * Cuts `file` into part files of `PART_SIZE` under `dir`, once: a part is streamed by curl from
 * its own file (curl cannot send a range of one). Answers `[{path, start, length}]`.
 */
async function cutParts(file, size, dir) {
  mkdirSync(dir, { recursive: true });
  const parts = [];
  const source = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(PART_SIZE);
    for (let start = 0, n = 1; start < size; start += PART_SIZE, n += 1) {
      const length = Math.min(PART_SIZE, size - start);
      const { bytesRead } = await source.read(buffer, 0, length, start);
      if (bytesRead !== length) throw new Error(`${file}: read ${bytesRead} bytes of part ${n}, not ${length}`);
      const path = join(dir, `part-${String(n).padStart(5, '0')}.bin`);
      await writeFile(path, buffer.subarray(0, length));
      parts.push({ path, start, length });
    }
  } finally {
    await source.close();
  }
  return parts;
}

/** `stamp` for a file cut into `parts`: each part file gets the marks of its blocks in the whole. */
async function stampParts(parts, token) {
  const mark = Buffer.alloc(16);
  mark.write(token.padEnd(12, '.').slice(0, 12), 0, 'latin1');
  for (const part of parts) {
    if (part.start % MIB !== 0) throw new Error('parts must start on a 1 MiB boundary');
    const handle = await open(part.path, 'r+');
    try {
      for (let at = 0; at < part.length; at += MIB) {
        mark.writeUInt32BE((part.start + at) / MIB, 12);
        await handle.write(mark, 0, Math.min(16, part.length - at), at);
      }
    } finally {
      await handle.close();
    }
  }
}

/**
 * PUTs part i's file to `urls[i]`, `PARTS_IN_FLIGHT` at once, with one `curl --parallel` (which
 * keeps its connections between parts, as a client's pool does). Answers each part's ETag, in
 * order; any part not answered 200 with the full length sent is an error, with its answer.
 */
async function putParts(urls, parts, args, answersDir) {
  mkdirSync(answersDir, { recursive: true });
  const answer = (i) => join(answersDir, `part-${i + 1}.txt`);
  const perPart = urls.flatMap((url, i) => ['-T', parts[i].path, '-o', answer(i), url]);
  const { stdout, stderr } = await run('curl', [
    '-sS', '--parallel', '--parallel-immediate', '--parallel-max', String(PARTS_IN_FLIGHT),
    // curl's own `Expect: 100-continue` stays, as for the S3 PUT: `-H 'Expect:'` would be
    // signed by --aws-sigv4 and then not sent, which Garage refuses.
    '-w', '%{urlnum} %{http_code} %{size_upload} %header{etag}\\n',
    ...args,
    ...perPart,
  ]);
  const etags = new Array(urls.length).fill(null);
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [num, code, sent, ...etag] = line.trim().split(' ');
    const i = Number(num);
    if (code !== '200' || Number(sent) !== parts[i].length) {
      const body = await readFile(answer(i), 'utf8').catch(() => '');
      throw new Error(`part ${i + 1}: HTTP ${code}, ${sent} bytes sent of ${parts[i].length}: ${body.slice(0, 300)}`);
    }
    etags[i] = etag.join(' ') || JSON.parse(await readFile(answer(i), 'utf8')).etag;
  }
  const missing = etags.findIndex((e) => !e);
  if (missing >= 0) throw new Error(`part ${missing + 1}: no answer from curl (${stderr.slice(-300)})`);
  return etags;
}

/** A JSON POST to Stowage's `/v1/files/` API; answers the parsed answer or throws with it. */
async function v1(front, path, body) {
  const response = await fetch(`${front}/v1/files/${path}`, {
    method: 'POST',
    headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST /v1/files/${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * A /v1 multipart upload of the file cut into `parts` through `server` (A: part URLs of its own;
 * C: Garage's). Answers `{wallMs (init to complete), partsMs, completeMs, completeCpuSec (of
 * the server, around complete), fileUrl, path, checksum}`.
 */
async function v1Multipart(server, name, parts, size, { direct, answersDir }) {
  const began = performance.now();
  const init = await v1(server.url, 'multipart/init', { path: 'bench', name, size, partSize: PART_SIZE, checksum: 'crc32c', overwrite: true });
  if (init.partSize !== PART_SIZE || init.partCount !== parts.length) {
    throw new Error(`init planned ${init.partCount} parts of ${init.partSize} bytes, not ${parts.length} of ${PART_SIZE}`);
  }
  const numbers = parts.map((_, i) => i + 1);
  const signed = await v1(server.url, 'multipart/presigned-url', { uploadId: init.uploadId, partNumbers: numbers });
  const byNumber = new Map(signed.parts.map((p) => [p.partNumber, p]));
  const requests = numbers.map((n) => byNumber.get(n));
  if (requests.some((r) => !r || r.method !== 'PUT')) throw new Error(`presigned-url answered no PUT for some part: ${JSON.stringify(signed).slice(0, 300)}`);
  // Where the bytes go: Garage's own presigned URLs with --direct-to-store, the server's without.
  for (const { url } of requests) {
    const toServer = url.startsWith(`${server.url}/`);
    if (direct ? toServer || !url.includes('X-Amz-Signature=') : !toServer) {
      throw new Error(`server ${server.name.toUpperCase()} handed out part URL ${url.slice(0, 120)}: expected ${direct ? "Garage's" : 'its own'}`);
    }
  }
  // One set of headers for every part (curl sends its headers with every URL).
  const headers = JSON.stringify(requests[0].headers ?? {});
  if (requests.some((r) => JSON.stringify(r.headers ?? {}) !== headers)) throw new Error('parts with different headers');
  const headerArgs = Object.entries(JSON.parse(headers)).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const partsBegan = performance.now();
  const etags = await putParts(requests.map((r) => r.url), parts, headerArgs, answersDir);
  const completeBegan = performance.now();
  const cpuBefore = cpuSeconds(server.pid);
  const done = await v1(server.url, 'multipart/complete', { uploadId: init.uploadId, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) });
  const ended = performance.now();
  const completeCpuSec = cpuSeconds(server.pid) - cpuBefore;
  if (done.size !== size || !done.fileURL) throw new Error(`complete answered ${JSON.stringify(done).slice(0, 300)}`);
  return {
    wallMs: ended - began,
    partsMs: completeBegan - partsBegan,
    completeMs: ended - completeBegan,
    completeCpuSec,
    fileUrl: done.fileURL,
    path: `bench/${name}`,
    checksum: done.checksum,
  };
}

// ---------------------------------------------------------------- the large-file variants

/** The physical limit's requests: SigV4-signed S3 on Garage node `node`. */
function s3(garage) {
  const sign = ['--aws-sigv4', `aws:amz:${garage.region}:s3`, '--user', `${garage.accessKeyId}:${garage.secretAccessKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];
  const url = (node, key) => `${garage.endpoints[node]}/${garage.bucket}/${key}`;
  return {
    put: async (node, key, file, size) => {
      const [seconds, sent] = await curl([...sign, '-T', file, url(node, key)], { fields: ['time_total', 'size_upload'] });
      if (sent !== size) throw new Error(`S3 PUT sent ${sent} bytes of ${size}`);
      return seconds * 1000;
    },
    get: async (node, key, size) => {
      const [seconds, got] = await curl([...sign, url(node, key)], { fields: ['time_total', 'size_download'] });
      if (got !== size) throw new Error(`S3 GET of ${key} from node ${node}: ${got} bytes of ${size}`);
      return seconds * 1000;
    },
    /**
     * The multipart limit: CreateMultipartUpload, the parts (4 at once, as for Stowage) and
     * CompleteMultipartUpload, all SigV4-signed to node `node`. Answers `{wallMs, partsMs, completeMs}`.
     */
    multipart: async (node, key, parts, answersDir) => {
      const began = performance.now();
      const created = await runOk('curl', ['-sS', '--fail-with-body', ...sign, '-X', 'POST', `${url(node, key)}?uploads=`]);
      const uploadId = created.stdout.match(/<UploadId>([^<]+)<\/UploadId>/)?.[1];
      if (!uploadId) throw new Error(`CreateMultipartUpload answered ${created.stdout.slice(0, 300)}`);
      const id = encodeURIComponent(uploadId);
      const partsBegan = performance.now();
      const etags = await putParts(parts.map((_, i) => `${url(node, key)}?partNumber=${i + 1}&uploadId=${id}`), parts, sign, answersDir);
      const completeBegan = performance.now();
      const xml = `<CompleteMultipartUpload>${etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
      const completed = await runOk('curl', ['-sS', '--fail-with-body', ...sign, '-X', 'POST', '-H', 'Content-Type: application/xml', '--data-binary', xml, `${url(node, key)}?uploadId=${id}`]);
      const ended = performance.now();
      if (!completed.stdout.includes('CompleteMultipartUploadResult')) throw new Error(`CompleteMultipartUpload answered ${completed.stdout.slice(0, 300)}`);
      return { wallMs: ended - began, partsMs: completeBegan - partsBegan, completeMs: ended - completeBegan };
    },
  };
}

/** Stowage's upload route: a raw-body POST to the Backendless files path. Answers `{ms, fileUrl}`. */
async function stowageUpload(front, path, file, size, bodyFile) {
  const url = `${front}/${APP_ID}/${API_KEY}/files/${path}?overwrite=true`;
  const [seconds, sent] = await curl(['-X', 'POST', '-T', file, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', url], {
    fields: ['time_total', 'size_upload'],
    out: bodyFile,
  });
  if (sent !== size) throw new Error(`upload to ${url} sent ${sent} bytes of ${size}`);
  const { fileURL } = JSON.parse(await readFile(bodyFile, 'utf8'));
  if (!fileURL) throw new Error(`upload to ${url} answered no fileURL`);
  return { ms: seconds * 1000, fileUrl: fileURL };
}

/** GET of a returned file URL, sent to `front` (the URL names the server that answered the upload). */
async function stowageDownload(front, fileUrl, size) {
  const u = new URL(fileUrl);
  const url = `${front}${u.pathname}${u.search}`;
  const [seconds, got] = await curl([url], { fields: ['time_total', 'size_download'] });
  if (got !== size) throw new Error(`GET ${url}: ${got} bytes of ${size}`);
  return seconds * 1000;
}

/** One run of large-file variant `id`: its upload phase, then its download phase, each observed. */
async function largeVariant(id, ctx, round) {
  const { deployment, files, size, workDir } = ctx;
  const { a, balancer } = deployment;
  const limit = s3(deployment.garage);
  const body = (i) => join(workDir, `answer-${i}.json`);
  const answers = join(workDir, 'answers');
  const token = (i) => `${id}r${round}f${i}`;
  const pair = async (fn) => {
    const started = performance.now();
    const each = await Promise.all([0, 1].map(fn));
    return { wallMs: performance.now() - started, eachMs: each.map((x) => x.ms ?? x) };
  };
  const countsBefore = () => [...balancer.counts];
  const served = (before) => balancer.counts.map((n, i) => n - before[i]);

  let up;
  let down;
  let streams = 1;
  let extra = {};
  if (id === 's3-1') {
    await stamp(files[0], size, token(0));
    up = await observe(deployment, `${id} upload`, async () => ({ wallMs: await limit.put(0, 'limit/one.bin', files[0], size) }));
    down = await observe(deployment, `${id} download`, async () => ({ wallMs: await limit.get(0, 'limit/one.bin', size) }));
  } else if (id === 's3-2') {
    streams = 2;
    for (const i of [0, 1]) await stamp(files[i], size, token(i));
    up = await observe(deployment, `${id} upload`, () => pair((i) => limit.put(i, `limit/pair-${i}.bin`, files[i], size)));
    down = await observe(deployment, `${id} download`, () => pair((i) => limit.get(i, `limit/pair-${i}.bin`, size)));
  } else if (id === 'one') {
    await stamp(files[0], size, token(0));
    let fileUrl;
    up = await observe(deployment, `${id} upload`, async () => {
      const r = await stowageUpload(a.url, 'bench/one.bin', files[0], size, body(0));
      fileUrl = r.fileUrl;
      return { wallMs: r.ms };
    });
    down = await observe(deployment, `${id} download`, async () => ({ wallMs: await stowageDownload(a.url, fileUrl, size) }));
  } else if (id === 'two-lb' || id === 'two-one') {
    streams = 2;
    const front = id === 'two-lb' ? balancer.url : a.url;
    for (const i of [0, 1]) await stamp(files[i], size, token(i));
    const fileUrls = [];
    const before = countsBefore();
    up = await observe(deployment, `${id} upload`, () =>
      pair(async (i) => {
        const r = await stowageUpload(front, `bench/${id}-${i}.bin`, files[i], size, body(i));
        fileUrls[i] = r.fileUrl;
        return r.ms;
      }),
    );
    ctx.stored[id] = fileUrls;
    const between = countsBefore();
    down = await observe(deployment, `${id} download`, () => pair((i) => stowageDownload(front, fileUrls[i], size)));
    if (id === 'two-lb') {
      extra = { uploadsPerServer: between.map((n, i) => n - before[i]), downloadsPerServer: served(between) };
      // Round robin: two requests in a row go to different servers.
      if (extra.uploadsPerServer.some((n) => n !== 1) || extra.downloadsPerServer.some((n) => n !== 1)) {
        throw new Error(`two-lb: the balancer did not spread the transfers (uploads ${extra.uploadsPerServer}, downloads ${extra.downloadsPerServer})`);
      }
    }
  } else if (id === 'mp-s3') {
    await stampParts(ctx.parts, token(0));
    up = await observe(deployment, `${id} upload`, () => limit.multipart(0, 'limit/multipart.bin', ctx.parts, answers));
    down = await observe(deployment, `${id} download`, async () => ({ wallMs: await limit.get(0, 'limit/multipart.bin', size) }));
  } else if (id === 'mp-a' || id === 'mp-direct') {
    // The same API; server C hands out Garage's URLs (--direct-to-store), server A its own.
    const direct = id === 'mp-direct';
    const server = direct ? deployment.c : a;
    extra = { server: server.name };
    await stampParts(ctx.parts, token(0));
    let stored;
    up = await observe(deployment, `${id} upload`, async () => {
      stored = await v1Multipart(server, `${id}.bin`, ctx.parts, size, { direct, answersDir: answers });
      return stored;
    });
    down = await observe(deployment, `${id} download`, async () => {
      if (!direct) return { wallMs: await stowageDownload(server.url, stored.fileUrl, size) };
      // The client asks C for the link, then fetches the bytes from Garage.
      const began = performance.now();
      const { url } = await v1(server.url, 'download-url', { path: stored.path, expiresIn: 600 });
      const linkMs = performance.now() - began;
      if (url.startsWith(`${server.url}/`) || !url.includes('X-Amz-Signature=')) throw new Error(`download-url answered ${url.slice(0, 120)}: not Garage's link`);
      const [, got] = await curl([url], { fields: ['time_total', 'size_download'] });
      if (got !== size) throw new Error(`GET of the direct link: ${got} bytes of ${size}`);
      return { wallMs: performance.now() - began, linkMs };
    });
  } else if (id === 'two-lb-a') {
    // The balancer's own cost on downloads: the same two GETs as two-one's, through the balancer
    // over A alone.
    streams = 2;
    const fileUrls = ctx.stored['two-one'];
    if (!fileUrls) throw new Error('two-lb-a runs after two-one: it downloads what two-one stored');
    down = await observe(deployment, `${id} download`, () => pair((i) => stowageDownload(deployment.balancerA.url, fileUrls[i], size)));
  } else {
    throw new Error(`unknown variant ${id}`);
  }
  const bytes = streams * size;
  // Multipart phases also keep how long the parts and `complete` took (and its server CPU).
  const timings = (r) => Object.fromEntries(['partsMs', 'completeMs', 'completeCpuSec', 'linkMs', 'checksum'].filter((k) => k in r).map((k) => [k, r[k]]));
  const phase = (p) => ({
    ms: p.result.wallMs,
    eachMs: p.result.eachMs ?? [p.result.wallMs],
    mibPerSec: mibPerSec(bytes, p.result.wallMs),
    ...timings(p.result),
    peakRss: p.peakRss,
    cpu: p.cpu,
  });
  return { id, round, streams, bytes, upload: up ? phase(up) : null, download: phase(down), ...extra };
}

// ---------------------------------------------------------------- the small-upload variants

/** How many files `dir` holds, as the catalog counts them (through `front`). */
async function storedCount(front, dir) {
  const response = await fetch(`${front}/${APP_ID}/${API_KEY}/files/${dir}?action=count`);
  const text = await response.text();
  if (response.status === 404) return 0; // not made yet
  if (!response.ok) throw new Error(`count of ${dir}: HTTP ${response.status} ${text.slice(0, 200)}`);
  return Number(text);
}

/**
 * The limit for small uploads: bench/load.mjs's run (64 clients, each request a 4 KiB body to a
 * new random name) as SigV4-signed PUTs straight to Garage node 0.
 */
function s3Uploads({ garage, bodyPath, seconds }) {
  const s3 = { accessKeyId: garage.accessKeyId, secretAccessKey: garage.secretAccessKey, region: garage.region };
  return uploadLoad({ base: `${garage.endpoints[0]}/${garage.bucket}/limit/small`, suffix: '.bin', method: 'PUT', bodyPath, seconds, concurrency: CLIENTS, s3 });
}

/** One run of small-upload variant `id`. */
async function smallVariant(id, ctx, round) {
  const { deployment, workDir, seconds } = ctx;
  const { a, balancer, balancerA, garage } = deployment;
  const fronts = { a: a.url, lb: balancer.url, 'lb-a': balancerA.url };
  if (id === 's3') {
    const o = await observe(deployment, `small ${id}`, () => s3Uploads({ garage, bodyPath: join(workDir, 'body-4k.bin'), seconds }));
    return { id, round, ...o.result, peakRss: o.peakRss, cpu: o.cpu };
  }
  const front = fronts[id];
  const storedBefore = await storedCount(a.url, 'load-4k');
  const countsBefore = [...balancer.counts];
  // smallUploads watches one RssMonitor; `observe` watches both servers around it.
  const unwatched = { measure: async (_phase, fn) => ({ result: await fn(), peakRss: NaN }) };
  const o = await observe(deployment, `small ${id}`, () =>
    smallUploads({ server: { url: front }, rss: unwatched, workDir, seconds, log: () => {} }),
  );
  const { serverPeakRssBytes: _unwatched, storedFiles, ...r } = o.result;
  const extra = id === 'lb' ? { requestsPerServer: balancer.counts.map((n, i) => n - countsBefore[i]) } : {};
  return { id, round, ...r, storedNew: storedFiles - storedBefore, peakRss: o.peakRss, cpu: o.cpu, ...extra };
}

// ---------------------------------------------------------------- the deployment

/** Copies the release server once it has not changed for 5 s (a rebuild may be under way). */
async function snapshotBinary(workDir) {
  for (let tries = 1; ; tries += 1) {
    const age = Date.now() - statSync(DEFAULT_BIN).mtimeMs;
    if (age > 5000) {
      const before = statSync(DEFAULT_BIN).mtimeMs;
      const bin = join(workDir, 'stowage-devserver');
      copyFileSync(DEFAULT_BIN, bin);
      chmodSync(bin, 0o755);
      if (statSync(DEFAULT_BIN).mtimeMs === before) return bin;
    }
    if (tries === 60) throw new Error(`${relative(ROOT, DEFAULT_BIN)} keeps changing: wait for the build to finish`);
    if (tries === 1) log(`${relative(ROOT, DEFAULT_BIN)} was written ${Math.round(age / 1000)} s ago; waiting for it to settle`);
    await sleep(2000);
  }
}

/** What to undo at the end, on an error or on Ctrl-C: newest first. */
const cleanups = [];
async function cleanUp(downTo = 0) {
  while (cleanups.length > downTo) {
    const [what, undo] = cleanups.pop();
    try {
      await undo();
    } catch (err) {
      log(`stopping ${what} failed: ${err.message}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, async () => {
    log(`${signal}: stopping everything`);
    await cleanUp();
    process.exit(130);
  });
}

/**
 * One round's deployment on `postgres`: a fresh Garage cluster, database `stowage_bench_rROUND`,
 * servers A, B and C, the balancers; every part registered in `cleanups` (undone at the round's end).
 */
async function deploy({ bin, www, postgres, round }) {
  if (!findGarage()) throw new Error('garage is not installed: scripts/setup.sh --garage');
  const started = performance.now();
  const garage = await startGarage({ log });
  cleanups.push(['Garage', () => garage.stop()]);
  const database = await createDatabase(postgres.url, `stowage_bench_r${round}`);
  const args = ['--database', database, '--blobs', `${garage.blobsUrl}/bench`];
  const servers = [];
  // One after the other: the first creates the schema and the shared signing secret. C talks to
  // node 0, like A, and hands out Garage's own URLs.
  for (const [name, node, more] of [['a', 0, []], ['b', 1, []], ['c', 0, ['--direct-to-store']]]) {
    const server = await startServer({ bin, www, logFile: join(ARTIFACTS, `cluster-server-${name}.log`), args: [...args, ...more], env: garage.env(node) });
    const rss = new RssMonitor(server.child.pid);
    cleanups.push([`server ${name.toUpperCase()}`, async () => (rss.stop(), server.stop())]);
    // Before any request: what the server holds when it has done nothing yet.
    servers.push({ name, url: server.url, pid: server.child.pid, rss, garageNode: node, idleRssBytes: rss.read()?.rss });
  }
  const [a, b, c] = servers;
  const balancer = await startBalancer([a.url, b.url]);
  cleanups.push(['balancer', () => balancer.close()]);
  const balancerA = await startBalancer([a.url]);
  cleanups.push(['balancer over A', () => balancerA.close()]);
  const gpids = garagePids(garage.dir);
  if (gpids.length !== 3) log(`WARNING: found ${gpids.length} Garage processes, not 3: their CPU time is incomplete`);
  const postmaster = postmasterPid(postgres.dir);
  if (!Number.isFinite(postmaster)) log('WARNING: no postmaster.pid: PostgreSQL CPU time is not counted');
  log(
    `round ${round + 1} deployed in ${((performance.now() - started) / 1000).toFixed(1)} s: Garage ${garage.endpoints.join(' ')}, ` +
      `A ${a.url} (node 0), B ${b.url} (node 1), C ${c.url} (node 0, direct to store), balancer ${balancer.url}, balancer over A ${balancerA.url}`,
  );
  return {
    postgres,
    garage,
    database,
    servers,
    a,
    b,
    c,
    balancer,
    balancerA,
    garagePids: gpids,
    postmaster,
    info: {
      postgres: postgres.version,
      garage: (await quiet(findGarage(), ['--version'])) || 'unknown',
      garageNodes: garage.endpoints.length,
      replicationFactor: REPLICAS,
      blobs: `${garage.blobsUrl}/bench`,
      serverA: { garageNode: 0 },
      serverB: { garageNode: 1 },
      serverC: { garageNode: 0, flags: ['--direct-to-store'] },
      freshPerRound: 'each round: a new Garage cluster, a new database, new servers and balancers (PostgreSQL is kept)',
      balancer: 'tests/balancer.mjs (Node, round robin per request, in the bench process)',
    },
  };
}

// ---------------------------------------------------------------- figures

function summarize(large, small, size, idleRss) {
  const of = (id) => large.filter((r) => r.id === id);
  const sm = (id) => small.filter((r) => r.id === id);
  const upMiB = (r) => r.upload.mibPerSec;
  const downMiB = (r) => r.download.mibPerSec;
  const rows = [];
  // `unit` '×' marks a row that is itself a ratio of two Stowage variants, in `baseUnit`.
  const add = (figure, what, runs, value, limitLabel, limitRuns, unit, baseUnit = unit) => {
    const limitValue = value;
    const byRound = new Map(limitRuns.map((r) => [r.round, r]));
    rows.push({
      figure,
      what,
      unit,
      baseUnit,
      runs: runs.length,
      value: median(runs.map(value)),
      limit: limitLabel,
      limitValue: median(limitRuns.map(limitValue)),
      ratio: median(runs.map((r) => value(r) / limitValue(byRound.get(r.round)))),
    });
  };
  const s1 = of('s3-1');
  const s2 = of('s3-2');
  add('physical limit', `S3 PUT of ${sizeLabel(size)} to Garage node 0 (curl, SigV4)`, s1, upMiB, 'itself', s1, 'MiB/s');
  add('physical limit', 'S3 GET of it from node 0', s1, downMiB, 'itself', s1, 'MiB/s');
  add('physical limit', '2 S3 PUTs at once (nodes 0 and 1), aggregate', s2, upMiB, 'itself', s2, 'MiB/s');
  add('physical limit', '2 S3 GETs at once, aggregate', s2, downMiB, 'itself', s2, 'MiB/s');
  add('upload, one server', `POST ${sizeLabel(size)} through A`, of('one'), upMiB, 'S3 PUT', s1, 'MiB/s');
  add('download, one server', 'GET it through A', of('one'), downMiB, 'S3 GET', s1, 'MiB/s');
  add('upload, two servers', '2 POSTs at once through the balancer (one on A, one on B), aggregate', of('two-lb'), upMiB, '2 S3 PUTs', s2, 'MiB/s');
  add('upload, two servers', '2 POSTs at once through A alone, aggregate', of('two-one'), upMiB, '2 S3 PUTs', s2, 'MiB/s');
  add('upload, two servers', 'two servers / one server (balancer ÷ A alone, 2 at once)', of('two-lb'), upMiB, 'A alone, 2 at once', of('two-one'), '×', 'MiB/s');
  add('download, two servers', '2 GETs at once through the balancer, aggregate', of('two-lb'), downMiB, '2 S3 GETs', s2, 'MiB/s');
  add('download, two servers', '2 GETs at once through A alone, aggregate', of('two-one'), downMiB, '2 S3 GETs', s2, 'MiB/s');
  add('download, two servers', 'two servers / one server (balancer ÷ A alone, 2 at once)', of('two-lb'), downMiB, 'A alone, 2 at once', of('two-one'), '×', 'MiB/s');
  add('download, two servers', 'the balancer alone: 2 GETs at once through the balancer over A only ÷ through A', of('two-lb-a'), downMiB, 'A alone, 2 at once', of('two-one'), '×', 'MiB/s');
  // Multipart: through Stowage (A), straight to the store (C), and the same parts straight to Garage.
  const mpS3 = of('mp-s3');
  const mpA = of('mp-a');
  const mpD = of('mp-direct');
  const parts = `${Math.ceil(size / PART_SIZE)} parts of ${sizeLabel(PART_SIZE)}, ${PARTS_IN_FLIGHT} at once`;
  add('multipart limit', `${parts}, SigV4 straight to Garage node 0 (create, parts, complete)`, mpS3, upMiB, 'itself', mpS3, 'MiB/s');
  add('multipart limit', 'the same ÷ one S3 PUT of the whole file', mpS3, upMiB, 'S3 PUT', s1, 'MiB/s');
  add('multipart upload, through Stowage', `/v1 multipart through A (${parts} to A), init to complete`, mpA, upMiB, 'S3 PUT', s1, 'MiB/s');
  add('multipart upload, through Stowage', 'the same ÷ the multipart limit', mpA, upMiB, 'S3 multipart', mpS3, 'MiB/s');
  add('multipart upload, straight to the store', `/v1 multipart with C --direct-to-store (${parts} to Garage node 0), init to complete`, mpD, upMiB, 'S3 PUT', s1, 'MiB/s');
  add('multipart upload, straight to the store', 'the same ÷ the multipart limit', mpD, upMiB, 'S3 multipart', mpS3, 'MiB/s');
  add('multipart upload', 'straight to the store ÷ through Stowage', mpD, upMiB, 'through Stowage', mpA, '×', 'MiB/s');
  const completeMs = (r) => r.upload.completeMs;
  add('multipart complete', 'CompleteMultipartUpload straight to Garage', mpS3, completeMs, 'itself', mpS3, 'ms');
  add('multipart complete', 'complete through A (reads the parts back, writes the joined object)', mpA, completeMs, 'S3 complete', mpS3, 'ms');
  add('multipart complete', 'complete on C (Garage joins the parts; C reads the object once for its CRC32C)', mpD, completeMs, 'S3 complete', mpS3, 'ms');
  // The CPU of the server that did the work (A, or C), per GiB of the file.
  const serverPerGiB = (phase) => (r) => r[phase].cpu[r.server] / (r.bytes / GIB);
  const completeCpu = (r) => r.upload.completeCpuSec;
  add('multipart server CPU', 'A per GiB uploaded through Stowage (init to complete)', mpA, serverPerGiB('upload'), 'itself', mpA, 's/GiB');
  add('multipart server CPU', 'C per GiB uploaded straight to the store (init to complete)', mpD, serverPerGiB('upload'), 'through Stowage', mpA, '×', 's/GiB');
  add('multipart server CPU', 'A during complete through Stowage', mpA, completeCpu, 'itself', mpA, 's');
  add('multipart server CPU', 'C during complete straight to the store', mpD, completeCpu, 'through Stowage', mpA, '×', 's');
  add('multipart download', 'GET of the multipart object from node 0 (SigV4)', mpS3, downMiB, 'S3 GET', s1, 'MiB/s');
  add('multipart download', 'GET of the fileURL through A', mpA, downMiB, 'S3 GET', s1, 'MiB/s');
  add('multipart download', "C's download-url link, then GET of it straight from Garage", mpD, downMiB, 'S3 GET', s1, 'MiB/s');
  add('multipart download', 'direct link ÷ through A', mpD, downMiB, 'through A', mpA, '×', 'MiB/s');
  add('multipart server CPU', 'A per GiB downloaded through Stowage', mpA, serverPerGiB('download'), 'itself', mpA, 's/GiB');
  add('multipart server CPU', 'C per GiB downloaded by its direct link (the link alone)', mpD, serverPerGiB('download'), 'itself', mpD, 's/GiB');
  const rate = (r) => r.uploadsPerSec;
  add('small uploads', `4 KiB S3 PUTs to Garage node 0 (autocannon, ${CLIENTS} clients)`, sm('s3'), rate, 'itself', sm('s3'), 'req/s');
  add('small uploads', `4 KiB uploads to A (autocannon, ${CLIENTS} clients)`, sm('a'), rate, 'S3 PUTs', sm('s3'), 'req/s');
  add('small uploads', '4 KiB uploads through the balancer over A and B', sm('lb'), rate, 'S3 PUTs', sm('s3'), 'req/s');
  add('small uploads', 'two servers / one server (balancer over A+B ÷ A)', sm('lb'), rate, 'A', sm('a'), '×', 'req/s');
  add('small uploads', 'the balancer alone: balancer over A only ÷ A', sm('lb-a'), rate, 'A', sm('a'), '×', 'req/s');

  // Server CPU per GiB moved through Stowage's own routes (every server's CPU: the idle ones add ~0).
  const stowage = large.filter((r) => ['one', 'two-lb', 'two-one'].includes(r.id));
  const perGiB = (runs, phase, key) => median(runs.map((r) => r[phase].cpu[key] / (r.bytes / GIB)));
  const has = (id, phase) => of(id).filter((r) => r[phase]);
  const serverCpu = (r, phase) => r[phase].cpu.a + r[phase].cpu.b + r[phase].cpu.c;
  const pairedRatio = (runs, base, value) => {
    const byRound = new Map(base.map((r) => [r.round, r]));
    return median(runs.filter((r) => byRound.has(r.round)).map((r) => value(r) / value(byRound.get(r.round))));
  };
  const cpuRatio = pairedRatio(mpD, mpA, serverPerGiB('upload'));
  const cpu = {
    serverSecPerGiBUploaded: median(stowage.map((r) => serverCpu(r, 'upload') / (r.bytes / GIB))),
    serverSecPerGiBDownloaded: median(stowage.map((r) => serverCpu(r, 'download') / (r.bytes / GIB))),
    // What bytes straight to the store save: the CPU of the server that handled the upload.
    directToStore: {
      throughStowage: {
        server: 'a',
        uploadSecPerGiB: median(mpA.map(serverPerGiB('upload'))),
        completeSec: median(mpA.map(completeCpu)),
        downloadSecPerGiB: median(mpA.map(serverPerGiB('download'))),
      },
      straightToStore: {
        server: 'c',
        uploadSecPerGiB: median(mpD.map(serverPerGiB('upload'))),
        completeSec: median(mpD.map(completeCpu)),
        downloadSecPerGiB: median(mpD.map(serverPerGiB('download'))),
      },
      uploadCpuRatio: cpuRatio,
      uploadCpuSaved: 1 - cpuRatio,
    },
    byVariant: Object.fromEntries(
      LARGE.map((id) => [
        id,
        Object.fromEntries(
          ['upload', 'download']
            .filter((phase) => has(id, phase).length > 0)
            .map((phase) => [
              phase,
              {
                serversSecPerGiB: median(has(id, phase).map((r) => serverCpu(r, phase) / (r.bytes / GIB))),
                garageSecPerGiB: perGiB(has(id, phase), phase, 'garage'),
                postgresSecPerGiB: perGiB(has(id, phase), phase, 'postgres'),
                harnessSecPerGiB: perGiB(has(id, phase), phase, 'harness'),
                machineBusy: median(has(id, phase).map((r) => r[phase].cpu.machineBusy)),
              },
            ]),
        ),
      ]),
    ),
    small: Object.fromEntries(
      SMALL.map((id) => [
        id,
        {
          serversMsPerUpload: median(sm(id).map((r) => ((r.cpu.a + r.cpu.b + r.cpu.c) * 1000) / r.succeeded)),
          garageMsPerUpload: median(sm(id).map((r) => (r.cpu.garage * 1000) / r.succeeded)),
          postgresMsPerUpload: median(sm(id).map((r) => (r.cpu.postgres * 1000) / r.succeeded)),
          harnessCores: median(sm(id).map((r) => r.cpu.harness / r.seconds)),
          machineBusy: median(sm(id).map((r) => r.cpu.machineBusy)),
        },
      ]),
    ),
  };
  const all = [...large.flatMap((r) => [r.upload, r.download]), ...small].filter(Boolean);
  const peak = (name) => Math.max(...all.map((p) => p.peakRss?.[name]).filter(Number.isFinite));
  const memory = {
    idleRssBytes: idleRss,
    serverAPeakRssBytes: peak('a'),
    serverBPeakRssBytes: peak('b'),
    serverCPeakRssBytes: peak('c'),
    byVariant: Object.fromEntries(
      [...LARGE.map((id) => [id, of(id).flatMap((r) => [r.upload, r.download].filter(Boolean))]), ...SMALL.map((id) => [`small-${id}`, sm(id)])].map(([id, ps]) => [
        id,
        Object.fromEntries(['a', 'b', 'c'].map((name) => [name, Math.max(...ps.map((p) => p.peakRss[name]))])),
      ]),
    ),
  };
  return { rows, cpu, memory };
}

function render(results) {
  const m = results.machine;
  const s = results.summary;
  const lines = [];
  lines.push(
    `Stowage cluster bench (${results.quick ? 'quick' : 'full'}) ${results.startedAt}, ${results.durationSec} s, ` +
      `${sizeLabel(results.plan.sizeBytes)} files, ${results.plan.rounds} round${results.plan.rounds > 1 ? 's' : ''}, ${results.plan.smallSeconds} s of ${m.loadgen} per run`,
  );
  lines.push(
    `${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / GIB).toFixed(1)} GiB RAM, ${m.kernel}, ${m.curl.split(' ').slice(0, 2).join(' ')}, ${m.loadgen}, ` +
      `load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end, commit ${m.commit}`,
  );
  const d = results.deployment;
  lines.push(
    `Deployment on loopback: ${d.garage}, ${d.garageNodes} nodes, replication ${d.replicationFactor}; ${d.postgres}; ` +
      `server A (Garage node 0), B (node 1) and C (node 0, --direct-to-store), one database and bucket; balancer: ${d.balancer}; ` +
      'a fresh Garage cluster, database and servers every round',
  );
  lines.push('');
  lines.push('| figure | what | runs | median | limit (same run) | limit median | ratio |');
  lines.push('|---|---|---:|---:|---|---:|---:|');
  for (const r of s.rows) {
    // A "×" row compares two Stowage variants: both medians in their unit, and their ratio.
    const unit = r.baseUnit;
    const digits = { 'req/s': 0, ms: 0, 's/GiB': 2, s: 2 }[unit] ?? 1;
    const value = `${fixed(r.value, digits)} ${unit}`;
    const limitValue = `${fixed(r.limitValue, digits)} ${unit}`;
    const ratio = r.limit === 'itself' ? '' : times(r.ratio);
    lines.push(`| ${r.figure} | ${r.what} | ${r.runs} | ${value} | ${r.limit === 'itself' ? '—' : r.limit} | ${r.limit === 'itself' ? '' : limitValue} | ${ratio} |`);
  }
  const c = s.cpu;
  lines.push(
    `| memory | peak RSS of server A / B / C over every run (idle at start: ${mib(s.memory.idleRssBytes.a)} / ${mib(s.memory.idleRssBytes.b)} / ${mib(s.memory.idleRssBytes.c)}) | | ` +
      `${mib(s.memory.serverAPeakRssBytes)} / ${mib(s.memory.serverBPeakRssBytes)} / ${mib(s.memory.serverCPeakRssBytes)} | | | |`,
  );
  lines.push(`| server CPU | CPU time of the servers per GiB uploaded through Stowage (large-file POSTs) | | ${fixed(c.serverSecPerGiBUploaded, 2)} s/GiB | | | |`);
  lines.push(`| server CPU | CPU time of the servers per GiB downloaded through Stowage | | ${fixed(c.serverSecPerGiBDownloaded, 2)} s/GiB | | | |`);
  lines.push(`| server CPU | CPU time of the servers per 4 KiB upload (autocannon to A) | | ${fixed(c.small.a.serversMsPerUpload, 2)} ms | | | |`);
  const dts = c.directToStore;
  lines.push(
    `| direct to store | server CPU per GiB uploaded by /v1 multipart: through Stowage (A) / straight to the store (C) | | ` +
      `${fixed(dts.throughStowage.uploadSecPerGiB, 2)} / ${fixed(dts.straightToStore.uploadSecPerGiB, 2)} s/GiB | | | ${fixed(dts.uploadCpuSaved * 100, 0)} % saved |`,
  );
  lines.push('');
  lines.push(
    'CPU during each variant (median over rounds; seconds of CPU per GiB moved; busy = share of all cores in use; ' +
      'peak RSS = the highest over the rounds, and RSS keeps what the allocator has retained from earlier work):',
  );
  lines.push('');
  lines.push('| variant | phase | servers s/GiB | Garage s/GiB | PostgreSQL s/GiB | bench process (balancer) s/GiB | cores busy | peak RSS A / B / C |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const id of LARGE) {
    for (const phase of ['upload', 'download']) {
      const v = c.byVariant[id][phase];
      if (!v) continue;
      const mem = s.memory.byVariant[id];
      lines.push(
        `| ${id} | ${phase} | ${fixed(v.serversSecPerGiB, 2)} | ${fixed(v.garageSecPerGiB, 2)} | ${fixed(v.postgresSecPerGiB, 2)} | ${fixed(v.harnessSecPerGiB, 2)} | ` +
          `${fixed(v.machineBusy * 100, 0)} % | ${mib(mem.a)} / ${mib(mem.b)} / ${mib(mem.c)} |`,
      );
    }
  }
  lines.push('');
  lines.push('| 4 KiB variant | uploads/s | p99 | servers CPU ms/upload | Garage CPU ms/upload | PostgreSQL CPU ms/upload | bench process (balancer) cores | cores busy | peak RSS A / B / C |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const id of SMALL) {
    const runs = results.small.filter((r) => r.id === id);
    const v = c.small[id];
    const mem = s.memory.byVariant[`small-${id}`];
    lines.push(
      `| ${id} | ${fixed(median(runs.map((r) => r.uploadsPerSec)), 0)} | ${fixed(median(runs.map((r) => r.p99Ms)), 1)} ms | ${fixed(v.serversMsPerUpload, 3)} | ` +
        `${fixed(v.garageMsPerUpload, 3)} | ${fixed(v.postgresMsPerUpload, 3)} | ${fixed(v.harnessCores, 2)} | ${fixed(v.machineBusy * 100, 0)} % | ${mib(mem.a)} / ${mib(mem.b)} / ${mib(mem.c)} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const started = Date.now();
  process.env.RUST_LOG ??= 'warn'; // the servers are measured, not their logs
  mkdirSync(ARTIFACTS, { recursive: true });
  const m = await machine({ root: ROOT });
  log(`${m.cores} cores (${m.cpuModel}), ${(m.memoryBytes / GIB).toFixed(1)} GiB RAM, load average ${m.loadAverageAtStart.join(' ')}`);
  if (m.loadAverageAtStart[0] > m.cores / 2) log(`WARNING: load average ${m.loadAverageAtStart[0]} on ${m.cores} cores: other work will skew the figures`);

  const size = PLAN.sizeBytes;
  // Garage keeps the blocks of overwritten and deleted objects for 10 minutes: every upload of
  // a round stays on disk, three times over, until the round's cluster is removed. Then the two
  // files, the parts cut from one, and a margin for the metadata.
  const need = UPLOADS_PER_ROUND * size * REPLICAS + 3 * size + GIB;
  const fs = statfsSync(os.tmpdir());
  const free = fs.bavail * fs.bsize;
  if (free < need + 4 * GIB) {
    throw new Error(`${os.tmpdir()} has ${(free / GIB).toFixed(1)} GiB free; the run needs about ${(need / GIB).toFixed(1)} GiB and a margin of 4 GiB`);
  }

  const workDir = await mkdtemp(join(os.tmpdir(), 'stowage-cluster-bench-'));
  cleanups.push(['the work directory', () => rm(workDir, { recursive: true, force: true })]);
  const bin = await snapshotBinary(workDir);
  const builds = { devserver: fingerprint(DEFAULT_BIN, bin) };
  const www = join(workDir, 'www');
  mkdirSync(www);
  m.loadgen = LOADGEN;

  const made = performance.now();
  const files = [join(workDir, 'large-0.bin'), join(workDir, 'large-1.bin')];
  for (const f of files) await makeFile(f, size);
  const parts = await cutParts(files[0], size, join(workDir, 'parts'));
  await makeFile(join(workDir, 'body-4k.bin'), 4 * KIB);
  log(`two ${sizeLabel(size)} files (one also cut into ${parts.length} parts) and a 4 KiB body written in ${((performance.now() - made) / 1000).toFixed(1)} s under ${workDir}`);

  const postgres = await startPostgres({ log, logFile: join(ARTIFACTS, 'cluster-postgres.log') });
  cleanups.push(['PostgreSQL', () => postgres.stop()]);
  const large = [];
  const small = [];
  const rounds = [];
  const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
  /** The large variants of `round`: LARGE rotated, the multipart ones trading their slots too. */
  const order = (round) => {
    const trio = rotate(MULTIPART, round);
    let k = 0;
    return rotate(LARGE, round).map((id) => (MULTIPART.includes(id) ? trio[k++] : id));
  };
  for (let round = 0; round < PLAN.rounds; round += 1) {
    const mark = cleanups.length;
    const deployment = await deploy({ bin, www, postgres, round });
    const ctx = { deployment, files, parts, size, workDir, seconds: PLAN.smallSeconds, stored: {} };
    const ids = order(round);
    if (ids.indexOf('two-lb-a') < ids.indexOf('two-one')) throw new Error('two-lb-a must run after two-one in a round');
    for (const id of ids) {
      const r = await largeVariant(id, ctx, round);
      large.push(r);
      const complete = r.upload?.completeMs != null ? `, complete ${fixed(r.upload.completeMs, 0)} ms` : '';
      log(
        `round ${round + 1}/${PLAN.rounds} ${id.padEnd(9)}: ${r.upload ? `upload ${fixed(r.upload.mibPerSec)} MiB/s${complete}, ` : ''}download ${fixed(r.download.mibPerSec)} MiB/s` +
          `${r.streams > 1 ? ` (aggregate of ${r.streams})` : ''}, cores busy ${r.upload ? `${fixed(r.upload.cpu.machineBusy * 100, 0)} % / ` : ''}${fixed(r.download.cpu.machineBusy * 100, 0)} %` +
          `${r.server ? `, server ${r.server.toUpperCase()} CPU ${fixed(r.upload.cpu[r.server], 2)} s up / ${fixed(r.download.cpu[r.server], 2)} s down` : ''}`,
      );
    }
    for (const id of rotate(SMALL, round)) {
      const r = await smallVariant(id, ctx, round);
      small.push(r);
      log(
        `round ${round + 1}/${PLAN.rounds} small ${id.padEnd(4)}: ${fixed(r.uploadsPerSec, 0)} uploads/s, p99 ${fixed(r.p99Ms, 1)} ms, ${r.failed} failed` +
          `${r.storedNew != null ? `, ${r.storedNew} stored` : ''}${r.requestsPerServer ? `, per server ${r.requestsPerServer.join(' / ')}` : ''}, ` +
          `balancer process ${fixed(r.cpu.harness / r.seconds, 2)} cores, cores busy ${fixed(r.cpu.machineBusy * 100, 0)} %`,
      );
      if (r.failed > 0) log(`  WARNING: ${r.failed} failed requests: ${JSON.stringify(r.statusCodes)} ${JSON.stringify(r.errors)}`);
      if (r.storedNew != null && r.storedNew < r.succeeded) throw new Error(`small ${id}: ${r.succeeded} uploads answered 200 but only ${r.storedNew} files were stored`);
      if (r.requestsPerServer?.some((n) => n === 0)) throw new Error(`small lb: a server answered no request (${r.requestsPerServer.join(' / ')})`);
    }
    rounds.push({
      round,
      order: ids,
      info: deployment.info,
      idleRssBytes: Object.fromEntries(deployment.servers.map((s) => [s.name, s.idleRssBytes])),
      rssPeakExact: deployment.servers.every((s) => s.rss.exact),
      timelines: Object.fromEntries(deployment.servers.map((s) => [s.name, s.rss.timeline])),
    });
    await cleanUp(mark); // this round's servers, balancers and Garage cluster (with its disk)
  }
  await cleanUp();
  const rssPeakExact = rounds.every((r) => r.rssPeakExact);

  m.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  m.pressureAtEnd = pressure();
  const idleRss = Object.fromEntries(['a', 'b', 'c'].map((name) => [name, median(rounds.map((r) => r.idleRssBytes[name]))]));
  const results = {
    schema: 2,
    tool: 'stowage-bench-cluster',
    quick: QUICK,
    startedAt: new Date(started).toISOString(),
    durationSec: Math.round((Date.now() - started) / 1000),
    machine: m,
    builds,
    deployment: rounds[0].info,
    plan: {
      ...PLAN,
      largeVariants: LARGE,
      multipartVariants: MULTIPART,
      orderByRound: rounds.map((r) => r.order),
      smallVariants: SMALL,
      smallClients: CLIENTS,
      partSizeBytes: PART_SIZE,
      partsInFlight: PARTS_IN_FLIGHT,
      rustLog: process.env.RUST_LOG,
    },
    method: {
      limit: 'curl --aws-sigv4 PUT/GET of the same file straight to Garage (node 0; node 0 and 1 for two at once)',
      stowage: `curl -X POST -T FILE ${'{front}'}/${APP_ID}/${API_KEY}/files/bench/NAME?overwrite=true, then GET of the returned fileURL`,
      multipart:
        `the file cut once into ${sizeLabel(PART_SIZE)} part files; one curl --parallel --parallel-max ${PARTS_IN_FLIGHT} -T PART URL per part (with curl's Expect: 100-continue, as the S3 PUT); ` +
        'mp-s3: CreateMultipartUpload, UploadPart and CompleteMultipartUpload SigV4-signed to node 0; mp-a and mp-direct: POST /v1/files/multipart/init ' +
        '(checksum crc32c), presigned-url, the parts to the URLs answered, complete (timed alone, with the server process\'s CPU around it); ' +
        'upload MiB/s from init (or CreateMultipartUpload) to the answer of complete',
      downloads: 'mp-s3: SigV4 GET; mp-a: GET of the fileURL through A; mp-direct: POST /v1/files/download-url to C, then GET of that link (both timed)',
      uniqueBytes: 'every upload stamps 16 bytes into each 1 MiB block of its file first: Garage deduplicates blocks',
      pairing: 'ratios are per round (run ÷ its limit in the same round), then the median',
      freshPerRound: 'each round on a new Garage cluster, database and servers: Garage keeps the blocks of deleted objects 10 minutes',
      rssPeakExact,
    },
    summary: summarize(large, small, size, idleRss),
    large,
    small,
    serverRssTimeline: rounds.map((r) => ({ round: r.round, ...r.timelines })),
  };
  const text = render(results);
  console.log(text);
  mkdirSync(dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${relative(ROOT, OUT)}`);
}

main()
  .catch(async (err) => {
    console.error(`[cluster] failed: ${err.stack || err}`);
    await cleanUp();
    process.exitCode = 1;
  })
  .finally(() => process.exit());
