// What every part of the bench shares: the devserver's memory read from /proc, statistics,
// child processes, test files on disk, and a description of the machine.

import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

/** `bytes` in the unit a reader expects: `4 KiB`, `64 MiB`, `1 GiB`. */
export function sizeLabel(bytes) {
  if (bytes >= GIB && bytes % GIB === 0) return `${bytes / GIB} GiB`;
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB} KiB`;
  return `${bytes} B`;
}

/** MiB per second for `bytes` moved in `ms` milliseconds. */
export const mibPerSec = (bytes, ms) => bytes / MIB / (ms / 1000);

export function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Watches one process's memory through /proc/PID/status. `measure(fn)` answers the peak
 * resident set while `fn` ran: the kernel's own high-water mark (VmHWM, reset before `fn` by
 * writing 5 to /proc/PID/clear_refs) where the kernel allows that, else the highest of samples
 * taken every `intervalMs`. A timeline of samples is kept for the results.
 */
export class RssMonitor {
  constructor(pid, { intervalMs = 20, timelineMs = 250 } = {}) {
    this.pid = pid;
    this.intervalMs = intervalMs;
    this.timelineMs = timelineMs;
    this.started = Date.now();
    this.timeline = [];
    this.phase = 'start';
    this.sampledPeak = 0;
    this.canReset = this.#resetKernelPeak();
    this.exact = this.canReset;
    this.#sample();
    this.timer = setInterval(() => this.#sample(), intervalMs);
    this.timer.unref();
  }

  /** `{rss, hwm}` in bytes, or null once the process has gone. */
  read() {
    let text;
    try {
      text = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return null;
    }
    const kib = (key) => Number((text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm')) || [])[1]) * KIB;
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  }

  #resetKernelPeak() {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  #sample() {
    const now = this.read();
    if (!now) return;
    this.sampledPeak = Math.max(this.sampledPeak, now.rss);
    const t = Date.now() - this.started;
    const last = this.timeline[this.timeline.length - 1];
    if (!last || t - last.t >= this.timelineMs || last.phase !== this.phase) {
      this.timeline.push({ t, phase: this.phase, rssMiB: Math.round((now.rss / MIB) * 10) / 10 });
    } else if (now.rss / MIB > last.rssMiB) {
      last.rssMiB = Math.round((now.rss / MIB) * 10) / 10;
    }
  }

  /** Runs `fn` and answers `{ result, peakRss }`; `phase` labels the timeline meanwhile. */
  async measure(phase, fn) {
    const before = this.phase;
    this.phase = phase;
    if (this.canReset) this.#resetKernelPeak();
    this.#sample();
    this.sampledPeak = this.read()?.rss ?? 0;
    try {
      const result = await fn();
      this.#sample();
      const now = this.read();
      const peakRss = Math.max(this.sampledPeak, this.canReset && now ? now.hwm : 0);
      return { result, peakRss };
    } finally {
      this.phase = before;
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}

/** Runs a command to its end; answers `{ code, stdout, stderr, ms }`. Rejects only when it cannot start. */
export function run(command, args, { cwd, env, input } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env: env || process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Like `run`, but a non-zero exit is an error that carries the command's stderr. */
export async function runOk(command, args, options) {
  const answer = await run(command, args, options);
  if (answer.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${answer.code}:\n${answer.stderr.slice(-2000)}`);
  }
  return answer;
}

/** Writes `bytes` of random data to `path` (random so that nothing on the way can compress it). */
export async function makeFile(path, bytes) {
  const handle = await open(path, 'w');
  try {
    const chunk = 8 * MIB;
    for (let done = 0; done < bytes; done += chunk) {
      const n = Math.min(chunk, bytes - done);
      await handle.write(randomBytes(n), 0, n);
    }
  } finally {
    await handle.close();
  }
}

const quiet = (command, args) =>
  new Promise((resolve) => execFile(command, args, { timeout: 10_000 }, (err, stdout) => resolve(err ? '' : stdout.trim())));

/**
 * `{source, built, sha256}` of a build the run copied to `copy`, so that figures name what
 * they measured: where it came from, when that was built, and the copy's hash.
 */
export function fingerprint(source, copy) {
  return {
    source,
    built: statSync(source).mtime.toISOString(),
    sha256: createHash('sha256').update(readFileSync(copy)).digest('hex').slice(0, 16),
  };
}

/** Pressure stall figures (`some avg10` %, from /proc/pressure) of cpu and io: how contended the machine is. */
export function pressure() {
  const read = (name) => {
    try {
      return Number(readFileSync(`/proc/pressure/${name}`, 'utf8').match(/^some avg10=([\d.]+)/m)?.[1]);
    } catch {
      return null;
    }
  };
  return { cpuSomeAvg10: read('cpu'), ioSomeAvg10: read('io') };
}

/** The machine the figures come from. */
export async function machine({ root }) {
  const cpus = os.cpus();
  const commit = await quiet('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const dirty = (await quiet('git', ['-C', root, 'status', '--porcelain'])).length > 0;
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    os: (await quiet('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'])) || os.version(),
    node: process.version,
    chromium: (await quiet(process.env.CHROMIUM || '/usr/bin/chromium', ['--version'])).split('\n').pop(),
    curl: (await quiet('curl', ['--version'])).split('\n')[0],
    commit: commit ? `${commit}${dirty ? '-dirty' : ''}` : 'unknown',
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    pressureAtStart: pressure(),
  };
}
