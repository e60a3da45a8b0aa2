// Small-upload throughput of two server builds in one run, for before/after notes (e.g. the
// records redesign in docs/benchmarks.md): the 4 KiB autocannon load of `npm run bench` (bench/load.mjs
// `smallUploads`: 64 clients, each upload to a new path) against each build in turn, a fresh
// server and data directory every run, in the order A B, B A, A B, … so that drift of the
// machine hits both alike. Builds nothing and is not part of `npm run bench`.
//
//   node bench/compare-uploads.mjs --a OLD_BIN --b NEW_BIN [--rounds 6] [--seconds 10] [--out FILE]

import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startServer } from '../tests/server.mjs';
import { smallUploads } from './load.mjs';
import { LOADGEN } from './loadgen.mjs';
import { KIB, RssMonitor, fingerprint, machine, makeFile, median } from './measure.mjs';

const { values: flags } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
if (!flags.a || !flags.b) {
  console.error('usage: node bench/compare-uploads.mjs --a OLD_BIN --b NEW_BIN [--rounds 6] [--seconds 10] [--out FILE]');
  process.exit(2);
}
const log = (line) => console.error(`[compare] ${line}`);

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function main() {
  process.env.RUST_LOG ??= 'warn';
  const startedAt = new Date().toISOString();
  const workDir = await mkdtemp(join(os.tmpdir(), 'stowage-compare-'));
  // The servers die with this process (tests/server.mjs); the files must go too.
  process.once('SIGINT', () => rm(workDir, { recursive: true, force: true }).finally(() => process.exit(130)));
  try {
    const builds = Object.fromEntries(
      ['a', 'b'].map((k) => {
        const copy = join(workDir, `devserver-${k}`);
        copyFileSync(flags[k], copy);
        chmodSync(copy, 0o755);
        // A build from before access control takes no admin keys (tests/server.mjs `legacy`).
        const help = spawnSync(copy, ['--help'], { encoding: 'utf8' }).stdout ?? '';
        return [k, { ...fingerprint(flags[k], copy), bin: copy, legacy: !help.includes('--admin-key') }];
      }),
    );
    await makeFile(join(workDir, 'body-4k.bin'), 4 * KIB);
    const www = join(workDir, 'www');
    mkdirSync(www);
    const artifacts = join(ROOT, 'bench', 'artifacts');
    const runs = { a: [], b: [] };
    const rounds = Number(flags.rounds);
    const seconds = Number(flags.seconds);
    const m = await machine({ root: ROOT });
    for (let round = 0; round < rounds; round += 1) {
      for (const k of round % 2 === 0 ? ['a', 'b'] : ['b', 'a']) {
        const server = await startServer({ bin: builds[k].bin, www, legacy: builds[k].legacy, logFile: join(artifacts, `devserver-compare-${k}.log`) });
        const rss = new RssMonitor(server.child.pid);
        try {
          const cpuBefore = cpuSeconds(server.child.pid);
          const r = await smallUploads({ server, rss, workDir, seconds, log: () => {} });
          // The server's CPU per stored upload: less moved by other work on the machine than the rate.
          const cpuMsPerUpload = ((cpuSeconds(server.child.pid) - cpuBefore) * 1000) / r.succeeded;
          runs[k].push({ round, uploadsPerSec: r.uploadsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, failed: r.failed, storedFiles: r.storedFiles, cpuMsPerUpload, load1: os.loadavg()[0] });
          log(
            `round ${round + 1}/${rounds} ${k} (${basename(flags[k])}): ${r.uploadsPerSec.toFixed(0)} uploads/s, p50 ${r.p50Ms.toFixed(1)} ms, ` +
              `p99 ${r.p99Ms.toFixed(1)} ms, ${r.failed} failed, ${r.storedFiles} stored, server CPU ${cpuMsPerUpload.toFixed(3)} ms/upload`,
          );
        } finally {
          rss.stop();
          await server.stop();
        }
      }
    }
    const summary = (k) => ({
      build: { source: builds[k].source, built: builds[k].built, sha256: builds[k].sha256 },
      medianUploadsPerSec: median(runs[k].map((r) => r.uploadsPerSec)),
      medianP99Ms: median(runs[k].map((r) => r.p99Ms)),
      medianCpuMsPerUpload: median(runs[k].map((r) => r.cpuMsPerUpload)),
      runs: runs[k],
    });
    const result = {
      tool: 'stowage-compare-uploads',
      startedAt,
      machine: { ...m, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100), loadgen: LOADGEN },
      seconds,
      rounds,
      a: summary('a'),
      b: summary('b'),
      // Paired by round: b's run divided by a's run of the same round.
      ratioBToA: median(runs.b.map((r, i) => r.uploadsPerSec / runs.a[i].uploadsPerSec)),
    };
    const line = (k) =>
      `${k} ${basename(flags[k])}: ${result[k].medianUploadsPerSec.toFixed(0)} uploads/s (median of ${rounds}), p99 ${result[k].medianP99Ms.toFixed(1)} ms, ` +
      `server CPU ${result[k].medianCpuMsPerUpload.toFixed(3)} ms/upload`;
    console.log(
      `${line('a')}\n${line('b')}\n` +
        `b/a paired by round: ${result.ratioBToA.toFixed(2)}×`,
    );
    if (flags.out) await writeFile(flags.out, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`[compare] failed: ${err.stack || err}`);
  process.exit(1);
});
