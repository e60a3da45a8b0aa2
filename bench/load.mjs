// The server half of the bench, on loopback only and bounded in count and time: many small
// uploads from autocannon (bench/loadgen.mjs, an npm devDependency), large uploads
// and downloads with curl next to `dd` on the same disk, serial 4 KiB commits as the disk's
// small-file limit, and directory listings of growing size.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { API_KEY, APP_ID } from '../tests/server.mjs';
import { uploadLoad } from './loadgen.mjs';
import { KIB, MIB, median, mibPerSec, runOk, sizeLabel } from './measure.mjs';

const CLIENTS = 64;

const filesUrl = (server, path) => `${server.url}/${APP_ID}/${API_KEY}/files/${path}`;
/** How many files `dir` holds, as the server counts them. */
async function storedCount(server, dir) {
  const response = await fetch(`${filesUrl(server, dir)}?action=count`);
  if (!response.ok) return 0;
  return Number(await response.text());
}

/**
 * POSTs `bodyPath` to new names in `dir` from `concurrency` clients, for `seconds` or `count`
 * requests (bench/loadgen.mjs). Requests in flight at the deadline are neither counted nor failed.
 */
function uploads({ server, dir, bodyPath, seconds, count, concurrency = CLIENTS }) {
  const clients = count ? Math.min(concurrency, count) : concurrency;
  return uploadLoad({ base: filesUrl(server, dir), suffix: '.bin?overwrite=true', bodyPath, seconds, count, concurrency: clients });
}

/** 4 KiB uploads from 64 clients, each to a new path: uploads/s, p50/p99, server RSS. */
export async function smallUploads({ server, rss, workDir, seconds, log }) {
  log(`autocannon: 4 KiB uploads from ${CLIENTS} clients for ${seconds} s`);
  const { result, peakRss } = await rss.measure('4 KiB uploads', () =>
    uploads({ server, dir: 'load-4k', bodyPath: join(workDir, 'body-4k.bin'), seconds }),
  );
  const storedFiles = await storedCount(server, 'load-4k');
  log(`  ${result.uploadsPerSec.toFixed(0)} uploads/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${result.failed} failed, RSS peak ${(peakRss / MIB).toFixed(1)} MiB`);
  return { bodyBytes: 4 * KIB, ...result, storedFiles, serverPeakRssBytes: peakRss };
}

/** 1 MiB uploads from 64 clients: throughput and server RSS with many bodies in flight. */
export async function mediumUploads({ server, rss, workDir, seconds, log }) {
  log(`autocannon: 1 MiB uploads from ${CLIENTS} clients for ${seconds} s`);
  const { result, peakRss } = await rss.measure('1 MiB uploads', () =>
    uploads({ server, dir: 'load-1m', bodyPath: join(workDir, 'body-1m.bin'), seconds }),
  );
  await fetch(filesUrl(server, 'load-1m'), { method: 'DELETE' }).then((r) => r.arrayBuffer());
  log(`  ${result.uploadsPerSec.toFixed(1)} uploads/s, p99 ${result.p99Ms.toFixed(1)} ms, RSS peak ${(peakRss / MIB).toFixed(1)} MiB`);
  return { bodyBytes: MIB, ...result, mibPerSec: result.uploadsPerSec, serverPeakRssBytes: peakRss };
}

/**
 * The disk's small-file limit: `count` serial commits of 4 KiB, each written, fsynced and
 * renamed into place, then the same with the directory fsynced after each rename too (what a
 * durable store must do before it may answer).
 */
export async function serialCommits({ dir, count, log }) {
  mkdirSync(dir, { recursive: true });
  const bytes = Buffer.alloc(4 * KIB, 7);
  const once = (withDir) => {
    const started = performance.now();
    const dirFd = withDir ? openSync(dir, 'r') : null;
    for (let i = 0; i < count; i += 1) {
      const tmp = join(dir, 'tmp');
      const fd = openSync(tmp, 'w');
      writeSync(fd, bytes);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, join(dir, `f${withDir ? 'd' : ''}${i}`));
      if (withDir) fsyncSync(dirFd);
    }
    if (withDir) closeSync(dirFd);
    return count / ((performance.now() - started) / 1000);
  };
  const writeFsyncRenamePerSec = once(false);
  const withDirFsyncPerSec = once(true);
  rmSync(dir, { recursive: true, force: true });
  log(`disk: ${writeFsyncRenamePerSec.toFixed(0)} serial write+fsync+rename commits/s, ${withDirFsyncPerSec.toFixed(0)}/s with directory fsync`);
  return { count, bytes: 4 * KIB, writeFsyncRenamePerSec, withDirFsyncPerSec };
}

/** `curl` with `-w` fields; answers them as numbers. Fails on HTTP errors. */
async function curl(args, fields) {
  const { stdout } = await runOk('curl', ['-sS', '--fail', '-o', '/dev/null', '-w', fields.map((f) => `%{${f}}`).join(' '), ...args]);
  return stdout.trim().split(' ').map(Number);
}

/** `dd` writing and fsyncing `bytes` of `source` to `target`; answers dd's own seconds. */
async function dd(source, target, bytes) {
  rmSync(target, { force: true });
  const { stderr } = await runOk('dd', [`if=${source}`, `of=${target}`, 'bs=1M', `count=${bytes / MIB}`, 'conv=fsync']);
  rmSync(target, { force: true });
  const seconds = Number((stderr.match(/copied, ([\d.]+) s/) || [])[1]);
  if (!Number.isFinite(seconds)) throw new Error(`cannot read dd's time from: ${stderr}`);
  return seconds * 1000;
}

/** Large uploads and downloads through the server (curl, streamed), next to dd of the same bytes. */
export async function largeTransfers({ server, rss, workDir, sizes, runs, fileName, log }) {
  const runsBySize = new Map(sizes.map((s) => [s, []]));
  for (let round = 0; round < runs; round += 1) {
    for (const size of sizes) {
      const source = join(workDir, fileName(size));
      const url = filesUrl(server, `large/${fileName(size)}`);
      const ddMs = await dd(source, join(server.dataDir, 'dd-probe.bin'), size);
      await fetch(url, { method: 'DELETE' }).then((r) => r.arrayBuffer());
      const up = await rss.measure(`curl upload ${sizeLabel(size)}`, () =>
        curl(['-X', 'POST', '-T', source, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:', `${url}?overwrite=true`], ['time_total']),
      );
      const down = await rss.measure(`curl download ${sizeLabel(size)}`, () => curl([url], ['time_total', 'size_download']));
      if (down.result[1] !== size) throw new Error(`downloaded ${down.result[1]} bytes of ${size}`);
      const r = {
        ddMs,
        uploadMs: up.result[0] * 1000,
        downloadMs: down.result[0] * 1000,
        serverPeakRssBytes: Math.max(up.peakRss, down.peakRss),
      };
      runsBySize.get(size).push(r);
      log(
        `${sizeLabel(size).padStart(8)} run ${round + 1}/${runs}: dd ${mibPerSec(size, r.ddMs).toFixed(0)} MiB/s, ` +
          `upload ${mibPerSec(size, r.uploadMs).toFixed(0)} MiB/s, download ${mibPerSec(size, r.downloadMs).toFixed(0)} MiB/s`,
      );
    }
  }
  return sizes.map((size) => {
    const rs = runsBySize.get(size);
    return {
      sizeBytes: size,
      uploadMiBPerSec: median(rs.map((r) => mibPerSec(size, r.uploadMs))),
      downloadMiBPerSec: median(rs.map((r) => mibPerSec(size, r.downloadMs))),
      ddMiBPerSec: median(rs.map((r) => mibPerSec(size, r.ddMs))),
      // Paired by round, as the browser ratios are.
      uploadToDisk: median(rs.map((r) => r.ddMs / r.uploadMs)),
      serverPeakRssBytes: Math.max(...rs.map((r) => r.serverPeakRssBytes)),
      runs: rs,
    };
  });
}

/** POSTs JSON to a `/v1/files/multipart/...` control route; answers the parsed JSON. */
async function control(server, route, body) {
  const response = await fetch(`${server.url}/v1/files/multipart/${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': API_KEY },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`multipart/${route}: HTTP ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * A multipart upload of `size` bytes driven from Node (8 MiB parts, no checksum, `concurrency`
 * parts in flight), to tell the server's share of `uploadMultipart()` from the browser's: the
 * time of the part PUTs and of `complete`, which joins the parts into one file.
 */
export async function multipartServer({ server, rss, workDir, size, runs, fileName, concurrency = 4, log }) {
  const partSize = 8 * MIB;
  const handle = await open(join(workDir, fileName(size)));
  const results = [];
  try {
    for (let round = 0; round < runs; round += 1) {
      await fetch(filesUrl(server, 'mp-node/x.bin'), { method: 'DELETE' }).then((r) => r.arrayBuffer());
      const { result, peakRss } = await rss.measure(`node multipart ${sizeLabel(size)}`, async () => {
        const started = performance.now();
        const init = await control(server, 'init', { path: '/mp-node', name: 'x.bin', size, partSize, checksum: 'none', overwrite: true });
        const numbers = Array.from({ length: init.partCount }, (_, i) => i + 1);
        const { parts } = await control(server, 'presigned-url', { uploadId: init.uploadId, partNumbers: numbers });
        const planned = performance.now();
        const done = [];
        let next = 0;
        const worker = async () => {
          while (next < parts.length) {
            const part = parts[next++];
            const start = (part.partNumber - 1) * init.partSize;
            const body = Buffer.alloc(Math.min(init.partSize, size - start));
            await handle.read(body, 0, body.length, start);
            const url = part.url.startsWith('http') ? part.url : `${server.url}${part.url}`;
            const response = await fetch(url, { method: 'PUT', body });
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`part ${part.partNumber}: HTTP ${response.status}`);
            done[part.partNumber - 1] = { partNumber: part.partNumber, etag: response.headers.get('etag') };
          }
        };
        await Promise.all(Array.from({ length: concurrency }, worker));
        const sent = performance.now();
        await control(server, 'complete', { uploadId: init.uploadId, parts: done });
        const completed = performance.now();
        return { controlMs: planned - started, partsMs: sent - planned, completeMs: completed - sent, totalMs: completed - started };
      });
      results.push({ ...result, serverPeakRssBytes: peakRss });
      log(
        `multipart from Node ${sizeLabel(size)} c=${concurrency} run ${round + 1}/${runs}: parts ${mibPerSec(size, result.partsMs).toFixed(0)} MiB/s, ` +
          `complete ${result.completeMs.toFixed(0)} ms, whole ${mibPerSec(size, result.totalMs).toFixed(0)} MiB/s`,
      );
    }
  } finally {
    await handle.close();
  }
  return {
    sizeBytes: size,
    partSize,
    concurrency,
    partsMiBPerSec: median(results.map((r) => mibPerSec(size, r.partsMs))),
    completeMs: median(results.map((r) => r.completeMs)),
    controlMs: median(results.map((r) => r.controlMs)),
    wholeMiBPerSec: median(results.map((r) => mibPerSec(size, r.totalMs))),
    serverPeakRssBytes: Math.max(...results.map((r) => r.serverPeakRssBytes)),
    runs: results,
  };
}

/** Milliseconds to fetch and parse one page of a directory listing. */
async function listPage(server, dir, offset, pageSize) {
  const started = performance.now();
  const response = await fetch(`${filesUrl(server, dir)}?pagesize=${pageSize}&offset=${offset}`);
  const entries = JSON.parse(await response.text());
  const ms = performance.now() - started;
  if (!response.ok || !Array.isArray(entries)) throw new Error(`listing ${dir} at ${offset}: HTTP ${response.status}`);
  return { ms, length: entries.length };
}

/** Fills `dir` with `count` empty files: autocannon with 64 clients, then a top-up of any shortfall. */
async function fill({ server, workDir, dir, count }) {
  const started = performance.now();
  await uploads({ server, dir, bodyPath: join(workDir, 'empty.bin'), count });
  let have = await storedCount(server, dir);
  for (let i = 0; have < count; i += 1) {
    const response = await fetch(`${filesUrl(server, `${dir}/fill-${i}.bin`)}?overwrite=false`, { method: 'POST', body: '' });
    await response.arrayBuffer();
    if (response.ok) have += 1;
  }
  return { ms: performance.now() - started, count: await storedCount(server, dir) };
}

/** Directories of `counts` files: first, middle and last page times, and a walk of every page. */
export async function listing({ server, workDir, counts, runs, log }) {
  const pageSize = 100;
  const dirs = [];
  for (const count of counts) {
    const dir = `list-${count}`;
    const made = await fill({ server, workDir, dir, count });
    if (made.count !== count) throw new Error(`${dir} holds ${made.count} files, not ${count}`);
    dirs.push({ dir, count, createdPerSec: count / (made.ms / 1000), createMs: made.ms });
    log(`listing: ${count} empty files created in ${(made.ms / 1000).toFixed(1)} s (${(count / (made.ms / 1000)).toFixed(0)}/s, autocannon, ${CLIENTS} clients)`);
  }
  const positions = { first: () => 0, middle: (n) => Math.floor(n / 2 / pageSize) * pageSize, last: (n) => n - pageSize };
  const times = new Map(dirs.map((d) => [d.dir, { first: [], middle: [], last: [] }]));
  for (let round = 0; round < runs; round += 1) {
    for (const d of dirs) {
      for (const [name, at] of Object.entries(positions)) {
        const page = await listPage(server, d.dir, at(d.count), pageSize);
        if (page.length !== pageSize) throw new Error(`${d.dir} ${name} page has ${page.length} entries`);
        times.get(d.dir)[name].push(page.ms);
      }
    }
  }
  // A client listing everything reads every page; walking 1,000 pages of 100k files takes
  // minutes when a page's cost grows with its offset, so the mean is taken over 10 pages spread
  // evenly from the first to the last, and the whole walk estimated from it.
  const spread = 10;
  for (const d of dirs) {
    for (const name of Object.keys(positions)) d[`${name}Ms`] = median(times.get(d.dir)[name]);
    const pages = Math.ceil(d.count / pageSize);
    let total = 0;
    for (let i = 0; i < spread; i += 1) {
      const offset = Math.round((i * (pages - 1)) / (spread - 1)) * pageSize;
      total += (await listPage(server, d.dir, offset, pageSize)).ms;
    }
    d.walkMsPerPage = total / spread;
    d.walkPages = pages;
    d.walkEstimateMs = d.walkMsPerPage * pages;
    log(
      `listing ${d.count}: first ${d.firstMs.toFixed(2)} ms, middle ${d.middleMs.toFixed(2)} ms, last ${d.lastMs.toFixed(2)} ms, ` +
        `mean ${d.walkMsPerPage.toFixed(2)} ms/page, whole listing ≈ ${(d.walkEstimateMs / 1000).toFixed(1)} s`,
    );
  }
  const smallest = dirs[0];
  const largest = dirs[dirs.length - 1];
  let growth = 0;
  let growthAt = 'first';
  for (const name of Object.keys(positions)) {
    const ratio = largest[`${name}Ms`] / smallest[`${name}Ms`];
    if (ratio > growth) [growth, growthAt] = [ratio, name];
  }
  return { pageSize, createdWith: `autocannon, ${CLIENTS} clients, empty uploads`, dirs, smallestCount: smallest.count, largestCount: largest.count, growth, growthAt };
}
