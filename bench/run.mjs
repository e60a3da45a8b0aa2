// `npm run bench`: upload speed, memory and server load of Stowage, measured against the
// physical limit (plain fetch/XHR, dd). See docs/benchmarks.md for the method.
//
//   npm run bench                      full run (about 10 minutes on 2 cores), writes bench/results.json
//                                      and the table in docs/benchmarks.md
//   npm run bench -- --quick           small sizes, one run each (under a minute), writes
//                                      bench/artifacts/results-quick.json; check it with
//                                      `node bench/check-results.mjs --quick`
//   flags: --no-build (use the built www/pkg and release server as they are),
//          --only transfers,checksums,scaling,server,listing,paging,cluster,images (writes bench/artifacts/results-only.json),
//          (images: image variants against vipsthumbnail, bench/images.mjs)
//          (cluster, the half of issue 10: bench/cluster.mjs on a 3-node Garage cluster + PostgreSQL;
//          a full run includes it, a quick run only with --only cluster)
//          --out FILE (where the JSON goes)

import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BIN, ROOT, startServer } from '../tests/server.mjs';
import { BenchPage, checksums, fileName, launchChromium, scaling, transfers } from './browser.mjs';
import { DEFAULT_SEEDER, ensureSeeder, paging, snapshotSeeder } from './listing.mjs';
import { largeTransfers, listing, mediumUploads, multipartServer, serialCommits, smallUploads } from './load.mjs';
import { GIB, KIB, MIB, RssMonitor, fingerprint, machine, makeFile, pressure, sleep } from './measure.mjs';
import { render, targets } from './report.mjs';
import { LOADGEN } from './loadgen.mjs';
import { images } from './images.mjs';

const PARTS = ['transfers', 'checksums', 'scaling', 'server', 'listing', 'paging', 'cluster', 'images'];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    out: { type: 'string' },
  },
});
const only = flags.only?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
for (const part of only ?? []) {
  if (!PARTS.includes(part)) {
    console.error(`unknown part ${part}; known: ${PARTS.join(', ')}`);
    process.exit(2);
  }
}
const wants = (part) => !only || only.includes(part);
const QUICK = flags.quick;

/** Sizes, runs and durations of a full and a quick run. */
const PLAN = QUICK
  ? {
      transferSizes: [MIB, 8 * MIB],
      runsFor: () => 1,
      checksumSize: 8 * MIB,
      checksumRuns: 1,
      scalingSizes: [MIB, 8 * MIB],
      scalingRuns: 1,
      smallSeconds: 3,
      mediumSeconds: 2,
      largeSizes: [16 * MIB],
      largeRuns: 1,
      commits: 200,
      listingCounts: [1000],
      listingRuns: 3,
      pagingCounts: [1000, 10_000],
      pagingRounds: 5,
    }
  : {
      transferSizes: [MIB, 64 * MIB, GIB],
      runsFor: (size) => (size <= MIB ? 9 : size <= 64 * MIB ? 5 : 3),
      checksumSize: 64 * MIB,
      checksumRuns: 3,
      scalingSizes: [MIB, 16 * MIB, 256 * MIB, GIB],
      scalingRuns: 3,
      smallSeconds: 10,
      mediumSeconds: 5,
      largeSizes: [256 * MIB, 512 * MIB],
      largeRuns: 3,
      commits: 1000,
      listingCounts: [1000, 10_000, 100_000],
      listingRuns: 5,
      pagingCounts: [1000, 100_000, 1_000_000],
      pagingRounds: 100,
    };

const OUT = flags.out ?? (only ? 'bench/artifacts/results-only.json' : QUICK ? 'bench/artifacts/results-quick.json' : 'bench/results.json');
const ARTIFACTS = join(ROOT, 'bench', 'artifacts');
const DOCS = join(ROOT, 'docs', 'benchmarks.md');

const log = (line) => console.error(`[bench] ${line}`);

/** Runs a build step with its output shown; throws when it fails. */
async function step(command, args) {
  log(`${command} ${args.join(' ')}`);
  const code = await new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', resolve);
    child.on('error', () => resolve(127));
  });
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code})`);
}

/**
 * The builds the run measures, copied once into `workDir`: the release devserver, and a www
 * directory with the bench page as index.html next to the built pkg/ (when `withPkg`: only the
 * browser half needs it). Other work that rebuilds www/pkg or the server during the run then
 * cannot change (or, half-written, break) them, and both halves of the bench run the same server.
 */
async function takeSnapshot(workDir, withPkg) {
  const pkg = join(ROOT, 'www', 'pkg');
  const www = join(workDir, 'www');
  mkdirSync(www, { recursive: true });
  // A build in progress elsewhere may be halfway through writing pkg/ (a new stowage.js next
  // to the old module breaks the page): copy only a pkg/ untouched for 5 s before and during
  // the copy, holding a valid module.
  const state = () => readdirSync(pkg).map((f) => `${f}:${statSync(join(pkg, f)).mtimeMs}`).join();
  const settled = () => readdirSync(pkg).every((f) => Date.now() - statSync(join(pkg, f)).mtimeMs > 5000);
  for (let tries = 1; withPkg; tries += 1) {
    const before = state();
    if (settled()) {
      rmSync(www, { recursive: true, force: true });
      cpSync(pkg, join(www, 'pkg'), { recursive: true });
      const valid = WebAssembly.validate(await readFile(join(www, 'pkg', 'stowage_bg.wasm')));
      if (state() === before && valid) break;
    }
    if (tries === 30) throw new Error(`${relative(ROOT, pkg)} keeps changing or holds no valid module: run \`npm run build\``);
    if (tries === 1) log(`${relative(ROOT, pkg)} is being rewritten; waiting for it to settle`);
    await sleep(2000);
  }
  copyFileSync(join(ROOT, 'bench', 'page.html'), join(www, 'index.html'));
  copyFileSync(join(ROOT, 'bench', 'page.js'), join(www, 'bench.js'));
  const bin = join(workDir, 'stowage-devserver');
  copyFileSync(DEFAULT_BIN, bin);
  chmodSync(bin, 0o755);
  return { bin, www };
}

/** What to undo when the run is interrupted (Ctrl-C): the browser, the servers, the files. */
const cleanups = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    log(`${signal}: cleaning up`);
    for (const undo of [...cleanups].reverse()) await undo().catch(() => {});
    process.exit(130);
  });
}

/** Runs `fn(resource)` with `undo` registered for an interruption, then undoes it. */
async function using(resource, undo, fn) {
  const entry = () => undo(resource);
  cleanups.add(entry);
  try {
    return await fn(resource);
  } finally {
    cleanups.delete(entry);
    await undo(resource);
  }
}

/** Starts a devserver (the run's copy of the binary) for one half of the bench, its memory watched. */
async function devserver(builds, name) {
  const server = await startServer({ bin: builds.bin, www: builds.www, logFile: join(ARTIFACTS, `devserver-${name}.log`) });
  const rss = new RssMonitor(server.child.pid);
  return { server, rss, stop: async () => (rss.stop(), server.stop()) };
}

async function browserHalf(builds, files, results) {
  await using(await devserver(builds, 'browser'), (d) => d.stop(), async ({ server, rss }) => {
    await using(await launchChromium(), (c) => c.browser.close(), async ({ browser, version }) => {
      results.machine.chromium = `Chromium ${version}`;
      const page = new BenchPage(browser, server.url, files);
      if (wants('transfers')) {
        log(`browser transfers at ${PLAN.transferSizes.map((s) => s / MIB).join(', ')} MiB`);
        results.browser.transfers = await transfers({ page, serverUrl: server.url, rss, sizes: PLAN.transferSizes, runsFor: PLAN.runsFor, log });
      }
      if (wants('checksums')) {
        await page.open();
        results.browser.checksums = await checksums({ page, rss, size: PLAN.checksumSize, runs: PLAN.checksumRuns, log });
      }
      if (wants('scaling')) {
        await page.open();
        results.browser.scaling = await scaling({ page, serverUrl: server.url, rss, sizes: PLAN.scalingSizes, runs: PLAN.scalingRuns, log });
      }
      await page.close();
      results.browser.serverRssTimeline = rss.timeline;
      results.browser.rssPeakExact = rss.exact;
    });
  });
}

async function serverHalf(builds, workDir, results) {
  results.machine.loadgen = LOADGEN;
  await using(await devserver(builds, 'server'), (d) => d.stop(), async ({ server, rss }) => {
    const ctx = { server, rss, workDir, log };
    if (wants('server')) {
      // The disk's rate moves with whatever else writes to it: measured before and after.
      const commits = () => serialCommits({ dir: join(server.dataDir, 'commit-probe'), count: PLAN.commits, log });
      const before = await commits();
      results.server.smallUploads = await smallUploads({ ...ctx, seconds: PLAN.smallSeconds });
      const after = await commits();
      const mean = (key) => (before[key] + after[key]) / 2;
      results.server.commits = {
        count: PLAN.commits,
        bytes: before.bytes,
        writeFsyncRenamePerSec: mean('writeFsyncRenamePerSec'),
        withDirFsyncPerSec: mean('withDirFsyncPerSec'),
        before,
        after,
      };
      results.server.mediumUploads = await mediumUploads({ ...ctx, seconds: PLAN.mediumSeconds });
      results.server.large = await largeTransfers({ ...ctx, sizes: PLAN.largeSizes, runs: PLAN.largeRuns, fileName });
      const largest = Math.max(...PLAN.largeSizes);
      results.server.multipart = await multipartServer({ ...ctx, size: largest, runs: PLAN.largeRuns, fileName });
    }
    if (wants('listing')) {
      results.server.listing = await listing({ ...ctx, counts: PLAN.listingCounts, runs: PLAN.listingRuns });
    }
    results.server.serverRssTimeline = rss.timeline;
    results.server.rssPeakExact = rss.exact;
  });
}

/** Replaces the table between the markers of docs/benchmarks.md. */
async function updateDocs(text) {
  const doc = await readFile(DOCS, 'utf8').catch(() => null);
  const start = '<!-- bench-table:start -->';
  const end = '<!-- bench-table:end -->';
  if (!doc || !doc.includes(start) || !doc.includes(end)) {
    log(`${relative(ROOT, DOCS)} has no table markers; not updated`);
    return;
  }
  const block = `${start}\n\n\`\`\`text\n${text}\n\`\`\`\n\n${end}`;
  await writeFile(DOCS, doc.slice(0, doc.indexOf(start)) + block + doc.slice(doc.indexOf(end) + end.length));
  log(`table written to ${relative(ROOT, DOCS)}`);
}

async function main() {
  const started = Date.now();
  if (!flags['no-build']) {
    await step('bash', ['scripts/setup.sh', '--vips']);
    await step('npm', ['run', 'build']);
  }
  // The server is measured, not its log: one line per request at `info` is noise here.
  process.env.RUST_LOG ??= 'warn';
  mkdirSync(ARTIFACTS, { recursive: true });
  const workDir = await mkdtemp(join(os.tmpdir(), 'stowage-bench-'));
  const measuresCluster = wants('cluster') && (!QUICK || Boolean(only));
  const results = {
    schema: 1,
    tool: 'stowage-bench',
    quick: QUICK,
    // What this run measures: a quick run of everything skips the cluster.
    parts: (only ?? PARTS).filter((p) => p !== 'cluster' || measuresCluster),
    startedAt: new Date(started).toISOString(),
    machine: await machine({ root: ROOT }),
    config: { rustLog: process.env.RUST_LOG, plan: { ...PLAN, runsFor: PLAN.transferSizes.map((s) => [s, PLAN.runsFor(s)]) } },
    builds: {},
    browser: {},
    server: {},
  };
  const busy = results.machine.loadAverageAtStart[0];
  if (busy > results.machine.cores / 2) log(`WARNING: load average ${busy} on ${results.machine.cores} cores: other work will skew the figures`);
  // The listing part seeds its catalogs with the devserver's `seed` example, which
  // `npm run build` does not build.
  const seeder = wants('paging') ? await ensureSeeder({ build: !flags['no-build'], log }) : null;
  await using(workDir, (dir) => rm(dir, { recursive: true, force: true }), async () => {
    const browser = ['transfers', 'checksums', 'scaling'].some(wants);
    const builds = await takeSnapshot(workDir, browser);
    results.builds = { devserver: fingerprint(DEFAULT_BIN, builds.bin) };
    if (browser) results.builds.wasm = fingerprint(join(ROOT, 'www', 'pkg', 'stowage_bg.wasm'), join(builds.www, 'pkg', 'stowage_bg.wasm'));
    if (seeder) {
      builds.seeder = snapshotSeeder(seeder, workDir);
      results.builds.seeder = fingerprint(DEFAULT_SEEDER, builds.seeder);
    }
    // The large test files are for the browser half and the server's large transfers only.
    const sizes = browser || wants('server') ? [...new Set([...PLAN.transferSizes, PLAN.checksumSize, ...PLAN.scalingSizes, ...PLAN.largeSizes])] : [];
    const made = performance.now();
    const files = [];
    for (const size of sizes.sort((a, b) => a - b)) {
      const path = join(workDir, fileName(size));
      await makeFile(path, size);
      files.push(path);
    }
    await makeFile(join(workDir, 'body-4k.bin'), 4 * KIB);
    await makeFile(join(workDir, 'body-1m.bin'), MIB);
    await writeFile(join(workDir, 'empty.bin'), '');
    log(`test files (${sizes.length ? `${sizes.map((s) => s / MIB).join(', ')} MiB, ` : ''}the upload bodies) written in ${((performance.now() - made) / 1000).toFixed(1)} s under ${workDir}`);
    if (browser) await browserHalf(builds, files, results);
    if (['server', 'listing'].some(wants)) await serverHalf(builds, workDir, results);
    if (wants('images')) {
      log('images: stowage-devserver transform against vipsthumbnail');
      results.images = await images({ bin: builds.bin, www: builds.www, workDir, quick: QUICK, log });
    }
    if (wants('paging')) {
      log(`paging: ${PLAN.pagingCounts.join(', ')} files, ${PLAN.pagingRounds} rounds`);
      results.server.paging = await paging({
        bin: builds.bin,
        www: builds.www,
        seeder: builds.seeder,
        workDir,
        counts: PLAN.pagingCounts,
        rounds: PLAN.pagingRounds,
        artifacts: ARTIFACTS,
        log,
      });
    }
  });
  if (measuresCluster) results.cluster = await clusterHalf();
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  results.machine.pressureAtEnd = pressure();
  results.durationSec = Math.round((Date.now() - started) / 1000);
  results.targets = targets(results);
  const text = render(results);
  console.log(text);
  const out = resolve(ROOT, OUT);
  mkdirSync(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${relative(ROOT, out)}`);
  if (!QUICK && !only && !flags.out) await updateDocs(text);
}

/** The cluster half (bench/cluster.mjs, in its own process: it starts its own deployment). */
async function clusterHalf() {
  const out = join(ARTIFACTS, QUICK ? 'cluster-from-run-quick.json' : 'cluster-from-run.json');
  log(`cluster: node bench/cluster.mjs${QUICK ? ' --quick' : ''} (Garage ×3, PostgreSQL, servers A, B, C)`);
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'cluster.mjs'), ...(QUICK ? ['--quick'] : []), '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise((done, fail) => child.on('error', fail).on('close', done));
  if (code !== 0) throw new Error(`bench/cluster.mjs exited with ${code}`);
  return JSON.parse(await readFile(out, 'utf8'));
}

main().catch((err) => {
  console.error(`[bench] failed: ${err.stack || err}`);
  process.exit(1);
});
