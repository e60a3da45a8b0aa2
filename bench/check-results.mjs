// Checks that a results file of `npm run bench` is well formed: every section its run covered
// is there, every figure is a finite number where one is expected, every target has a status.
// It judges the shape, never the speed: a MISS is a finding, not a malformed file.
//
//   node bench/check-results.mjs                  bench/results.json (a full run)
//   node bench/check-results.mjs --quick          bench/artifacts/results-quick.json
//   node bench/check-results.mjs FILE
// Exits 0 when well formed, 1 with the problems listed otherwise.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTS = ['transfers', 'checksums', 'scaling', 'server', 'listing', 'paging', 'cluster', 'images'];
const TARGETS = ['upload-vs-fetch', 'multipart-c4-crc32c', 'wasm-heap', 'rss-64-uploads', 'small-uploads', 'large-upload', 'listing-flat'];
/** Targets of a part added later: required only of a run that has that part. */
const PART_TARGETS = { paging: ['paging-cursor', 'paging-offset'], cluster: [], images: ['image-transform'] };
const LISTINGS = ['backendless-offset', 'backendless-cursor', 'cognite', 'bkend'];
const POSITIONS = ['first', 'middle', 'last'];
const VARIANTS = [
  'fetch',
  'xhr',
  'upload',
  ...[1, 4, 8].flatMap((c) => ['none', 'crc32c', 'sha256'].map((s) => `multipart-c${c}-${s}`)),
  'fetchDownload',
  'download',
];

const args = process.argv.slice(2);
const file = args.includes('--quick')
  ? join(ROOT, 'bench', 'artifacts', 'results-quick.json')
  : args.find((a) => !a.startsWith('--')) ?? join(ROOT, 'bench', 'results.json');

const problems = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);
const positive = (where, x) => (typeof x === 'number' && Number.isFinite(x) && x > 0) || fail(where, `expected a positive number, got ${JSON.stringify(x)}`);
const finite = (where, x) => (typeof x === 'number' && Number.isFinite(x)) || fail(where, `expected a number, got ${JSON.stringify(x)}`);
const nonEmptyArray = (where, x) => (Array.isArray(x) && x.length > 0) || (fail(where, 'expected a non-empty array'), false);
const text = (where, x) => (typeof x === 'string' && x.length > 0) || fail(where, `expected a string, got ${JSON.stringify(x)}`);

function checkTransfers(rows) {
  if (!nonEmptyArray('browser.transfers', rows)) return;
  const sizes = [...new Set(rows.map((r) => r.sizeBytes))];
  for (const size of sizes) {
    for (const v of VARIANTS) {
      if (!rows.some((r) => r.sizeBytes === size && r.variant === v)) fail('browser.transfers', `no ${v} at ${size} bytes`);
    }
  }
  rows.forEach((r, i) => {
    const at = `browser.transfers[${i}] (${r.variant} ${r.sizeBytes})`;
    positive(`${at}.sizeBytes`, r.sizeBytes);
    for (const key of ['medianMiBPerSec', 'ratioToBaseline', 'serverPeakRssBytes', 'wasmMemoryBytes', 'jsHeapPeakBytes']) positive(`${at}.${key}`, r[key]);
    if (nonEmptyArray(`${at}.runs`, r.runs)) {
      r.runs.forEach((run, j) => {
        positive(`${at}.runs[${j}].ms`, run.ms);
        positive(`${at}.runs[${j}].mibPerSec`, run.mibPerSec);
      });
    }
  });
  if (sizes.some((s) => rows.filter((r) => r.sizeBytes === s)[0]?.runs.length < 1)) fail('browser.transfers', 'a size without runs');
}

function checkChecksums(c) {
  if (!c) return fail('browser.checksums', 'missing');
  if (nonEmptyArray('browser.checksums.rows', c.rows)) c.rows.forEach((r, i) => positive(`browser.checksums.rows[${i}].medianMiBPerSec`, r.medianMiBPerSec));
  if (c.sha256Agrees !== true) fail('browser.checksums.sha256Agrees', 'the wasm SHA-256 and crypto.subtle disagree');
  if (c.rows.some((r) => r.id === 'crc32c-compute') && c.crc32cAgrees !== true) fail('browser.checksums.crc32cAgrees', 'hashPart of the File and of its bytes in memory disagree');
}

function checkScaling(s) {
  if (!s) return fail('browser.scaling', 'missing');
  if (nonEmptyArray('browser.scaling.rows', s.rows)) s.rows.forEach((r, i) => positive(`browser.scaling.rows[${i}].medianMs`, r.medianMs));
  finite('browser.scaling.fit.msPerMiB', s.fit?.msPerMiB);
}

function checkServer(s) {
  const small = s.smallUploads;
  if (!small) fail('server.smallUploads', 'missing');
  else for (const key of ['uploadsPerSec', 'p50Ms', 'p99Ms', 'succeeded', 'storedFiles', 'serverPeakRssBytes']) positive(`server.smallUploads.${key}`, small[key]);
  if (!s.commits) fail('server.commits', 'missing');
  else for (const key of ['writeFsyncRenamePerSec', 'withDirFsyncPerSec']) positive(`server.commits.${key}`, s.commits[key]);
  if (!s.mediumUploads) fail('server.mediumUploads', 'missing');
  else positive('server.mediumUploads.uploadsPerSec', s.mediumUploads.uploadsPerSec);
  if (!s.multipart) fail('server.multipart', 'missing');
  else for (const key of ['partsMiBPerSec', 'completeMs', 'wholeMiBPerSec']) positive(`server.multipart.${key}`, s.multipart[key]);
  if (nonEmptyArray('server.large', s.large)) {
    s.large.forEach((r, i) => {
      for (const key of ['sizeBytes', 'uploadMiBPerSec', 'downloadMiBPerSec', 'ddMiBPerSec', 'uploadToDisk', 'serverPeakRssBytes']) positive(`server.large[${i}].${key}`, r[key]);
    });
  }
}

function checkListing(l) {
  if (!l) return fail('server.listing', 'missing');
  if (nonEmptyArray('server.listing.dirs', l.dirs)) {
    l.dirs.forEach((d, i) => {
      for (const key of ['count', 'createdPerSec', 'firstMs', 'middleMs', 'lastMs', 'walkMsPerPage']) positive(`server.listing.dirs[${i}].${key}`, d[key]);
    });
  }
  positive('server.listing.growth', l.growth);
}

function checkPaging(p) {
  if (!p) return fail('server.paging', 'missing');
  if (nonEmptyArray('server.paging.catalogs', p.catalogs)) {
    p.catalogs.forEach((c, i) => {
      for (const key of ['count', 'seedMs', 'seededPerSec', 'catalogBytes']) positive(`server.paging.catalogs[${i}].${key}`, c[key]);
    });
    if (nonEmptyArray('server.paging.rows', p.rows)) {
      for (const listing of LISTINGS) {
        for (const c of p.catalogs) {
          for (const position of POSITIONS) {
            const at = `server.paging.rows (${listing} ${c.count} ${position})`;
            const r = p.rows.find((x) => x.listing === listing && x.count === c.count && x.position === position);
            if (!r) {
              fail(at, 'missing');
              continue;
            }
            for (const key of ['medianMs', 'p95Ms', 'ratioToSmallestFirst']) positive(`${at}.${key}`, r[key]);
            if (nonEmptyArray(`${at}.runs`, r.runs)) r.runs.forEach((ms, j) => positive(`${at}.runs[${j}]`, ms));
          }
        }
      }
    }
  }
  positive('server.paging.pageSize', p.pageSize);
  positive('server.paging.growthCursor.ratio', p.growthCursor?.ratio);
  positive('server.paging.growthOffset.ratio', p.growthOffset?.ratio);
}

function checkCluster(c) {
  if (!c) return fail('cluster', 'missing');
  if (c.tool !== 'stowage-bench-cluster') fail('cluster.tool', `expected stowage-bench-cluster, got ${JSON.stringify(c.tool)}`);
  if (typeof c.summary !== 'object' || c.summary === null) fail('cluster.summary', 'missing');
  nonEmptyArray('cluster.large', c.large);
  nonEmptyArray('cluster.small', c.small);
}

let results;
try {
  results = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`${file}: ${err.message}`);
  process.exit(1);
}

if (results?.tool !== 'stowage-bench' || results.schema !== 1) fail('header', 'not a stowage-bench results file of schema 1');
if (typeof results.quick !== 'boolean') fail('quick', 'expected a boolean');
if (Number.isNaN(Date.parse(results.startedAt))) fail('startedAt', 'expected an ISO date');
finite('durationSec', results.durationSec);
const m = results.machine ?? {};
positive('machine.cores', m.cores);
positive('machine.memoryBytes', m.memoryBytes);
for (const key of ['kernel', 'cpuModel', 'chromium', 'commit']) text(`machine.${key}`, m[key]);
const parts = Array.isArray(results.parts) ? results.parts : (fail('parts', 'expected an array'), []);
for (const part of parts) if (!PARTS.includes(part)) fail('parts', `unknown part ${part}`);

if (parts.includes('transfers')) checkTransfers(results.browser?.transfers);
if (parts.includes('checksums')) checkChecksums(results.browser?.checksums);
if (parts.includes('scaling')) checkScaling(results.browser?.scaling);
if (parts.includes('server')) checkServer(results.server ?? {});
if (parts.includes('listing')) checkListing(results.server?.listing);
if (parts.includes('paging')) checkPaging(results.server?.paging);
if (parts.includes('cluster')) checkCluster(results.cluster);
if (parts.includes('images')) {
  const im = results.images;
  if (!im) fail('images', 'missing');
  else {
    if (nonEmptyArray('images.rows', im.rows)) {
      im.rows.forEach((r, i) => {
        for (const k of ['vipsMs', 'vipsRssBytes', 'oursMs', 'oursTransformMs', 'oursRssBytes', 'oursTransformRssBytes', 'oursOutputBytes']) positive(`images.rows[${i}].${k}`, r[k]);
        if (!(r.oursSize?.[0] === 400 || r.oursSize?.[1] === 400)) fail(`images.rows[${i}].oursSize`, `expected 400 px on the longer side, got ${JSON.stringify(r.oursSize)}`);
        // Results from before the outputs were decoded again have no `oursDecodedSize`.
        if (r.oursDecodedSize && JSON.stringify(r.oursDecodedSize) !== JSON.stringify(r.oursSize)) {
          fail(`images.rows[${i}].oursDecodedSize`, `the file decodes to ${JSON.stringify(r.oursDecodedSize)}, the report says ${JSON.stringify(r.oursSize)}`);
        }
      });
      // The animated GIF (issue 13's inputs): its first frame, 800×600, fitted in 400×400.
      const gif = im.rows.find((r) => r.id === 'gif-animated');
      if (!gif) fail('images.rows', 'no gif-animated row');
      else if (JSON.stringify(gif.oursDecodedSize) !== '[400,300]') fail('images.rows (gif-animated).oursDecodedSize', `expected [400,300], got ${JSON.stringify(gif.oursDecodedSize)}`);
    }
    if (im.bomb?.refused !== true) fail('images.bomb.refused', 'the 100000×100000 PNG was not refused');
    // Results from before the load test have no `load`.
    if (im.load) {
      for (const kind of ['hits', 'misses']) {
        for (const k of ['requestsPerSec', 'p99Ms', 'serverPeakRssBytes']) positive(`images.load.${kind}.${k}`, im.load[kind]?.[k]);
      }
    }
  }
}

// A full run measures every part; one from before a part existed lacks only that part.
const full = !results.quick && PARTS.filter((p) => !PART_TARGETS[p]).every((p) => parts.includes(p));
if (nonEmptyArray('targets', results.targets)) {
  // crc32c-wasm reads a checksums row added later (the hashing of bytes in memory).
  const crcRow = results.browser?.checksums?.rows?.some((r) => r.id === 'crc32c-compute');
  const required = [
    ...TARGETS,
    ...Object.entries(PART_TARGETS).flatMap(([part, ids]) => (parts.includes(part) ? ids : [])),
    ...(crcRow ? ['crc32c-wasm'] : []),
  ];
  for (const id of required) {
    const t = results.targets.find((x) => x.id === id);
    if (!t) {
      fail('targets', `no target ${id}`);
      continue;
    }
    if (!['PASS', 'MISS', 'N/A'].includes(t.status)) fail(`targets.${id}.status`, `expected PASS, MISS or N/A, got ${JSON.stringify(t.status)}`);
    if (full && t.status === 'N/A') fail(`targets.${id}`, 'a full run must measure every target');
    if (t.status !== 'N/A') finite(`targets.${id}.value`, t.value);
  }
}

if (problems.length) {
  console.error(`${file} is malformed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${file}: well formed (${results.quick ? 'quick' : 'full'} run, ${results.targets.filter((t) => t.status === 'PASS').length} of ${results.targets.length} targets pass)`);
