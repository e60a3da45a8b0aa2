// The browser half of the bench: headless Chromium (the launch options of tests/engines.mjs)
// on bench/page.html, served by the devserver under test. Uploads, downloads, checksums and
// how upload time grows with size, each interleaved A B A B across rounds so that drift of the
// machine hits every variant alike.

import { ENGINES } from '../tests/engines.mjs';
import { API_KEY, APP_ID } from '../tests/server.mjs';
import { MIB, mibPerSec, median, sizeLabel } from './measure.mjs';

/** Flags added to the tests' Chromium flags: exact `performance.memory`, and `gc()` between runs. */
const EXTRA_FLAGS = ['--enable-precise-memory-info', '--js-flags=--expose-gc'];

/** Every transfer the bench compares; `baseline` names the variant its ratio is taken to. */
export const VARIANTS = [
  { id: 'fetch', label: 'plain fetch() POST', op: 'fetch', baseline: 'fetch' },
  { id: 'xhr', label: 'plain XHR POST', op: 'xhr', baseline: 'fetch' },
  { id: 'upload', label: 'Stowage upload()', op: 'upload', baseline: 'fetch' },
  ...[1, 4, 8].flatMap((concurrency) =>
    ['none', 'crc32c', 'sha256'].map((checksum) => ({
      id: `multipart-c${concurrency}-${checksum}`,
      label: `uploadMultipart c=${concurrency} ${checksum}`,
      op: 'multipart',
      args: { concurrency, checksum },
      baseline: 'fetch',
    })),
  ),
  { id: 'fetchDownload', label: 'plain fetch().blob() GET', op: 'fetchDownload', baseline: 'fetchDownload', download: true },
  { id: 'download', label: 'Stowage download()', op: 'download', baseline: 'fetchDownload', download: true },
];

/** Launches Chromium as the tests do, plus EXTRA_FLAGS; answers `{ browser, version }`. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const options = ENGINES.chrome.page.launchOptions();
  const browser = await chromium.launch({ ...options, args: [...options.args, ...EXTRA_FLAGS] });
  return { browser, version: browser.version() };
}

/** One tab on the bench page with `paths` picked in its file input. `open()` again for a fresh one. */
export class BenchPage {
  constructor(browser, serverUrl, paths) {
    this.browser = browser;
    this.serverUrl = serverUrl;
    this.paths = paths;
    this.page = null;
    this.context = null;
  }

  /** A new context and page: a fresh wasm instance, so its memory high-water starts over. */
  async open() {
    await this.context?.close();
    this.context = await this.browser.newContext();
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(10 * 60_000);
    const errors = [];
    this.page.on('pageerror', (err) => errors.push(err.message));
    await this.page.goto(`${this.serverUrl}/`);
    try {
      await this.page.waitForFunction(() => window.bench?.ready === true, null, { timeout: 30_000 });
    } catch (err) {
      throw new Error(`the bench page did not start: ${errors.join('; ') || err.message}`);
    }
    this.page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
    await this.page.setInputFiles('#files', this.paths);
  }

  /** Runs `window.bench.run(operation, args)` in the page. */
  run(operation, args) {
    return this.page.evaluate(([op, a]) => window.bench.run(op, a), [operation, args]);
  }

  async close() {
    await this.context?.close();
  }
}

/** Removes a stored bench file (untimed), so that every timed upload creates a new file. */
async function removeStored(serverUrl, name) {
  const response = await fetch(`${serverUrl}/${APP_ID}/${API_KEY}/files/bench/${encodeURIComponent(name)}`, { method: 'DELETE' });
  await response.arrayBuffer();
  if (!response.ok && response.status !== 404) throw new Error(`DELETE ${name}: HTTP ${response.status}`);
}

/** One timed operation, with the devserver's peak RSS while it ran. */
async function timed(page, rss, phase, operation, args) {
  const { result, peakRss } = await rss.measure(phase, () => page.run(operation, args));
  return { ...result, serverPeakRss: peakRss };
}

/** `bytes` → the name of its test file. */
export const fileName = (bytes) => `bench-${sizeLabel(bytes).replace(' ', '')}.bin`;

/**
 * Uploads and downloads at each size, in `runsFor(size)` rounds of every variant in order. Each
 * round runs in a fresh browser context (a new wasm instance, so `wasmMemoryBytes` is the
 * high-water mark of one round's work) after an untimed warm-up round with the smallest file.
 * The fresh context also frees the round's downloaded Blobs: Chromium refuses further
 * downloads once about 4 GiB of Blobs were made in one context, even after they were dropped.
 */
export async function transfers({ page, serverUrl, rss, sizes, runsFor, log }) {
  const rows = [];
  const smallest = Math.min(...sizes);
  for (const size of sizes) {
    const once = async (variant, bytes, phase) => {
      const target = `${sizeLabel(bytes).replace(' ', '')}-${variant.download ? 'upload' : variant.id}.bin`;
      if (!variant.download) await removeStored(serverUrl, target);
      const args = { ...variant.args, fileName: fileName(bytes), target, size: bytes };
      return timed(page, rss, phase, variant.op, args);
    };
    const byVariant = new Map(VARIANTS.map((v) => [v.id, []]));
    const runs = runsFor(size);
    for (let round = 0; round < runs; round += 1) {
      await page.open();
      for (const variant of VARIANTS) await once(variant, smallest, 'browser warm-up');
      for (const variant of VARIANTS) {
        const r = await once(variant, size, `browser ${variant.id} ${sizeLabel(size)}`);
        r.mibPerSec = mibPerSec(size, r.ms);
        byVariant.get(variant.id).push(r);
        log(`${sizeLabel(size).padStart(7)}  ${variant.label.padEnd(28)} run ${round + 1}/${runs}  ${r.mibPerSec.toFixed(1).padStart(7)} MiB/s`);
      }
    }
    for (const variant of VARIANTS) {
      const runsOf = byVariant.get(variant.id);
      const base = byVariant.get(variant.baseline);
      const xhr = byVariant.get('xhr');
      rows.push({
        sizeBytes: size,
        variant: variant.id,
        label: variant.label,
        direction: variant.download ? 'download' : 'upload',
        baseline: variant.baseline,
        runs: runsOf.map((r) => ({
          ms: round2(r.ms),
          mibPerSec: round2(r.mibPerSec),
          serverPeakRssBytes: r.serverPeakRss,
          wasmMemoryBytes: r.wasmAfter,
          jsHeapBeforeBytes: r.jsHeapBefore,
          jsHeapPeakBytes: r.jsHeapPeak,
          jsHeapAfterGcBytes: r.jsHeapAfterGc,
        })),
        medianMiBPerSec: round2(median(runsOf.map((r) => r.mibPerSec))),
        // Paired by round: each run against the baseline run of the same round.
        ratioToBaseline: round3(median(runsOf.map((r, i) => r.mibPerSec / base[i].mibPerSec))),
        // Uploads also against plain XHR, the transport of upload() and of the parts.
        ratioToXhr: variant.download ? null : round3(median(runsOf.map((r, i) => r.mibPerSec / xhr[i].mibPerSec))),
        serverPeakRssBytes: Math.max(...runsOf.map((r) => r.serverPeakRss)),
        wasmMemoryBytes: Math.max(...runsOf.map((r) => r.wasmAfter)),
        jsHeapPeakBytes: Math.max(...runsOf.map((r) => r.jsHeapPeak)),
        jsHeapGrowthBytes: Math.max(...runsOf.map((r) => r.jsHeapPeak - r.jsHeapBefore)),
      });
    }
  }
  return rows;
}

/**
 * CRC32C and SHA-256 in wasm (`hashPart`) next to `crypto.subtle.digest` and plain reads; the
 * CRC32C also of bytes already in memory, which times the hashing without the File reads.
 */
export async function checksums({ page, rss, size, runs, log }) {
  const ops = [
    { id: 'read', label: 'File.arrayBuffer() (read only)', op: 'read' },
    { id: 'readSlices', label: '1 MiB slices read in turn (read only)', op: 'readSlices', args: { step: 1 } },
    { id: 'readSlices8', label: '8 MiB slices read in turn (read only)', op: 'readSlices', args: { step: 8 } },
    { id: 'crc32c', label: 'hashPart crc32c (wasm, read + hash)', op: 'hash', args: { algorithm: 'crc32c' } },
    { id: 'crc32cMemory', label: 'hashPart crc32c of the bytes in memory', op: 'hashMemory', args: { algorithm: 'crc32c' } },
    { id: 'sha256', label: 'hashPart sha256 (wasm)', op: 'hash', args: { algorithm: 'sha256' } },
    { id: 'subtle', label: 'crypto.subtle SHA-256 (read+digest)', op: 'subtle' },
  ];
  const results = new Map(ops.map((o) => [o.id, []]));
  for (let round = 0; round < runs; round += 1) {
    for (const o of ops) {
      const r = await timed(page, rss, `checksum ${o.id}`, o.op, { ...o.args, fileName: fileName(size) });
      results.get(o.id).push(r);
      log(`checksum ${o.label.padEnd(36)} run ${round + 1}/${runs}  ${mibPerSec(size, r.ms).toFixed(1).padStart(7)} MiB/s`);
    }
  }
  const wasmSha = results.get('sha256')[0].detail.checksum;
  const subtleSha = Buffer.from(results.get('subtle')[0].detail.sha256, 'hex').toString('base64');
  const rows = ops.map((o) => ({
    id: o.id,
    label: o.label,
    sizeBytes: size,
    medianMiBPerSec: round2(median(results.get(o.id).map((r) => mibPerSec(size, r.ms)))),
    runsMs: results.get(o.id).map((r) => round2(r.ms)),
  }));
  const digestOnly = results.get('subtle').map((r) => r.detail.digestMs);
  rows.push({
    id: 'subtle-digest',
    label: 'crypto.subtle SHA-256 (digest only)',
    sizeBytes: size,
    medianMiBPerSec: round2(median(digestOnly.map((ms) => mibPerSec(size, ms)))),
    runsMs: digestOnly.map(round2),
  });
  const hashOnly = results.get('crc32cMemory').map((r) => r.detail.hashMs);
  rows.push({
    id: 'crc32c-compute',
    label: 'CRC32C in wasm (the hashing alone)',
    sizeBytes: size,
    medianMiBPerSec: round2(median(hashOnly.map((ms) => mibPerSec(size, ms)))),
    runsMs: hashOnly.map(round2),
  });
  const crcs = [...results.get('crc32c'), ...results.get('crc32cMemory')].map((r) => r.detail.checksum);
  return { rows, sha256Agrees: wasmSha === subtleSha, crc32cAgrees: crcs.every((c) => c === crcs[0]), wasmMemoryBytes: Math.max(...[...results.values()].flat().map((r) => r.wasmAfter)) };
}

/** Stowage `upload()` time at each size, sizes interleaved within each round. */
export async function scaling({ page, serverUrl, rss, sizes, runs, log }) {
  const times = new Map(sizes.map((s) => [s, []]));
  for (let round = 0; round < runs; round += 1) {
    for (const size of sizes) {
      const target = `scale-${sizeLabel(size).replace(' ', '')}.bin`;
      await removeStored(serverUrl, target);
      const r = await timed(page, rss, `scaling ${sizeLabel(size)}`, 'upload', { fileName: fileName(size), target });
      times.get(size).push(r.ms);
      log(`scaling upload() ${sizeLabel(size).padStart(8)} run ${round + 1}/${runs}  ${r.ms.toFixed(1).padStart(8)} ms`);
    }
  }
  const rows = sizes.map((size) => {
    const ms = median(times.get(size));
    return { sizeBytes: size, medianMs: round2(ms), msPerMiB: round3(ms / (size / MIB)), mibPerSec: round2(mibPerSec(size, ms)), runsMs: times.get(size).map(round2) };
  });
  // Least squares fit of time = fixed + perMiB × size over the medians.
  const xs = rows.map((r) => r.sizeBytes / MIB);
  const ys = rows.map((r) => r.medianMs);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const perMiB = sxx > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : NaN;
  const fixed = my - perMiB * mx;
  const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  const ssRes = ys.reduce((a, y, i) => a + (y - (fixed + perMiB * xs[i])) ** 2, 0);
  return { rows, fit: { fixedMs: round2(fixed), msPerMiB: round3(perMiB), r2: ssTot > 0 ? round3(1 - ssRes / ssTot) : null } };
}

const round2 = (x) => Math.round(x * 100) / 100;
const round3 = (x) => Math.round(x * 1000) / 1000;
