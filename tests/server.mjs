// Starts an already built `stowage-devserver` for tests: a free port, a fresh temporary data
// directory, the log in a file, and a wait until `GET /demo/demo-key/info` answers. Builds nothing.
// The server runs with `--unsafe-test-hooks` (loopback only): `/v1/test/faults` and
// `/v1/test/stats`, which the multipart browser tests use; other tests never call them.
// `listenHost: '0.0.0.0'` (tests/proxy.test.mjs) listens on every address, without the hooks.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
/** The release binary, under `$CARGO_TARGET_DIR` when that is set. */
export const DEFAULT_BIN = join(resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target'), 'release', 'stowage-devserver');
export const APP_ID = 'demo';
export const API_KEY = 'demo-key';
/** The demo app's admin key in tests (the test hooks answer only an admin key). */
export const ADMIN_KEY = 'test-admin-key-demo-0123456789abcdef';
/** A second app with the safe defaults: anonymous users read only what rules make readable. */
export const LOCKED_APP = { appId: 'locked', apiKey: 'locked-key', adminKey: 'test-admin-key-locked-0123456789abcdef' };

/** Asks the OS for a free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Spawns the server and resolves once it answers. Returns `{ url, port, dataDir, logFile, child, stop }`;
 * `stop()` ends the server (SIGTERM, then SIGKILL after 5 s) and removes the data directory.
 * `legacy: true` starts a build from before access control (one app, no admin keys).
 * `dataDir` serves an existing directory (a seeded catalog, say) instead of a fresh one; it is
 * removed by `stop()` all the same. `args` are more flags (`--database`, `--blobs`), `env` more
 * environment (the object store's `AWS_*`). `listenHost` is the address of `--listen`
 * (default 127.0.0.1; the probe still goes to 127.0.0.1); `testHooks: false` leaves out
 * `--unsafe-test-hooks`, which the server refuses on an address that is not loopback.
 */
export async function startServer({
  bin = DEFAULT_BIN,
  www = join(ROOT, 'www'),
  logFile = join(ARTIFACTS, 'devserver.log'),
  dataDir = null,
  timeoutMs = 30_000,
  attempts = 3,
  legacy = false,
  args: extraArgs = [],
  env: extraEnv = {},
  listenHost = '127.0.0.1',
  testHooks = true,
} = {}) {
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with \`npm run build\``);
  }
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'w' });
  let lastError;
  // The port is free when asked for but another process may take it before the server binds:
  // then the server exits at once and we try another port.
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      return await startOnce({ bin, www, log, logFile, dataDir, timeoutMs, legacy, extraArgs, extraEnv, listenHost, testHooks });
    } catch (err) {
      lastError = err;
      if (!err.exitedEarly) break;
    }
  }
  if (!log.writableEnded) log.end();
  throw lastError;
}

async function startOnce({ bin, www, log, logFile, dataDir: given, timeoutMs, legacy, extraArgs, extraEnv, listenHost = '127.0.0.1', testHooks = true }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = given ?? (await mkdtemp(join(tmpdir(), 'stowage-data-')));
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('STOWAGE_')) delete env[key];
  Object.assign(env, extraEnv);

  const args = [
    '--listen',
    `${listenHost}:${port}`,
    '--data',
    dataDir,
    '--www',
    www,
    // A build from before access control (`legacy`, for before/after benchmarks) knows one app
    // and no admin keys.
    ...(legacy
      ? ['--app', `${APP_ID}:${API_KEY}`]
      : [
          '--app',
          `${APP_ID}:${API_KEY}:open`,
          '--app',
          `${LOCKED_APP.appId}:${LOCKED_APP.apiKey}`,
          '--admin-key',
          `${APP_ID}=${ADMIN_KEY}`,
          '--admin-key',
          `${LOCKED_APP.appId}=${LOCKED_APP.adminKey}`,
        ]),
    ...(testHooks ? ['--unsafe-test-hooks'] : []),
    ...extraArgs,
  ];
  log.write(`# ${bin} ${args.join(' ')}\n`);
  const child = spawn(bin, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });

  // Never leave the server behind, whatever way this process ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('exit', killOnExit);
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (!log.writableEnded) await new Promise((resolve) => log.end(resolve));
    await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  const probe = `${url}/${APP_ID}/${API_KEY}/info`;
  while (Date.now() < deadline) {
    if (exited) {
      // A given directory is kept for the next attempt (on another port).
      if (!given) await rm(dataDir, { recursive: true, force: true });
      const how = exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`;
      const err = new Error(`stowage-devserver exited before answering (${how}); see ${logFile}`);
      err.exitedEarly = true;
      throw err;
    }
    try {
      const response = await fetch(probe, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) {
        await response.arrayBuffer();
        return { url, port, dataDir, logFile, child, stop };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`stowage-devserver did not answer ${probe} within ${timeoutMs / 1000} s; see ${logFile}`);
}
