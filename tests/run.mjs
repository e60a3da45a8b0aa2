#!/usr/bin/env node
// The runner behind `npm test`: set-up, lint, Rust tests (the server's twice: on SQLite, then on a
// throwaway PostgreSQL cluster), the wasm and server builds, then the browser suites against a real
// stowage-devserver. Every step runs even after another failed (unless it needs what failed); the
// last line is `N passed, N failed` over the steps.

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clusterSteps } from './cluster.mjs';
import { DEFAULT_ENGINES, DRIVER_VARIABLES, ENGINES, browserScratch } from './engines.mjs';
import { startPostgres } from './postgres.mjs';
import { API_KEY, APP_ID, ARTIFACTS, ROOT, startServer } from './server.mjs';

const GROUPS = ['cargo', 'postgres', 'wasm', 'page', 'api', 'cluster', 'bench'];
const MINUTE = 60_000;
/** Databases the server and its tests read from the environment. */
const DATABASE_VARIABLES = ['STOWAGE_TEST_DATABASE', 'STOWAGE_DATABASE'];

const USAGE = `usage: npm test -- [options]

  --browser NAME    engine for the browser suites: ${Object.keys(ENGINES).join(', ')}
                    (repeat or comma-separate for several; default ${DEFAULT_ENGINES.join(',')})
  --only GROUP      run only some groups: cargo (fmt, clippy, cargo test, and
                    the server's tests on PostgreSQL), postgres (only those),
                    wasm (wasm-bindgen browser tests), page (the demo page test,
                    the client in a Web Worker, and a Vite app on the packed package),
                    api (the real @cognite/sdk and backendless SDKs against
                    the server),
                    cluster (PostgreSQL + a 3-node Garage cluster: the server's tests on
                    them, two servers behind a balancer for the browser tests and
                    the SDKs, and the failure tests; installs Garage when missing),
                    bench (npm run bench -- --quick, checked for well-formed results);
                    repeat or comma-separate for several
  --skip-lint       skip cargo fmt --check and cargo clippy
  -h, --help        this text`;

function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        browser: { type: 'string', multiple: true },
        only: { type: 'string', multiple: true },
        'skip-lint': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    usageError(err.message);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const split = (list) => (list ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const engines = split(values.browser);
  const groups = split(values.only);
  for (const name of engines) if (!ENGINES[name]) usageError(`unknown browser ${JSON.stringify(name)}`);
  for (const name of groups) if (!GROUPS.includes(name)) usageError(`unknown group ${JSON.stringify(name)}`);
  return {
    engines: engines.length > 0 ? [...new Set(engines)] : DEFAULT_ENGINES,
    groups: new Set(groups.length > 0 ? groups : GROUPS),
    skipLint: values['skip-lint'],
  };
}

function usageError(message) {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------- running commands

let current = null; // the child process of the step that is running
let server = null; // the devserver, while it runs
let postgres = null; // the PostgreSQL cluster, while it runs
let interrupted = null; // the signal that asked us to stop

/**
 * Runs a command in its own process group; rejects on a non-zero exit. Its output goes to ours;
 * with `capture` it is also kept (up to a few MB) and resolved as one string. `unset` names
 * variables of our environment the command must not see.
 */
function run(cmd, args, { env = {}, unset = [], capture = false, timeoutMs = 30 * MINUTE } = {}) {
  console.log(`$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${cmd} ${args.join(' ')}`);
  const childEnv = { ...process.env, ...env };
  for (const name of unset) if (!(name in env)) delete childEnv[name];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
      detached: true, // its own process group, so a timeout or Ctrl-C ends its children too
    });
    current = child;
    let output = '';
    if (capture) {
      const keep = (chunk) => {
        if (output.length < 8 * 1024 * 1024) output += chunk.toString();
      };
      child.stdout.on('data', (chunk) => {
        process.stdout.write(chunk);
        keep(chunk);
      });
      child.stderr.on('data', (chunk) => {
        process.stderr.write(chunk);
        keep(chunk);
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      current = null;
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      current = null;
      // Captured output may still be in the pipes: wait for them to close, but not for a
      // grandchild that keeps them open.
      if (capture) {
        await new Promise((done) => {
          const wait = setTimeout(done, 2_000);
          child.once('close', () => {
            clearTimeout(wait);
            done();
          });
        });
      }
      if (timedOut) reject(new Error(`timed out after ${timeoutMs / MINUTE} min`));
      else if (code === 0) resolve(output);
      else reject(new Error(signal ? `${cmd} was killed by ${signal}` : `${cmd} exited with code ${code}`));
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------- steps

const results = []; // { name, status: 'passed' | 'failed' | 'skipped', seconds, note }

const passed = (name) => results.some((r) => r.name === name && r.status === 'passed');

async function step(name, fn, { needs = [] } = {}) {
  if (interrupted) return;
  const missing = needs.filter((n) => !passed(n));
  if (missing.length > 0) {
    results.push({ name, status: 'skipped', seconds: 0, note: `needs: ${missing.join(', ')}` });
    console.log(`\n==> ${name}: skipped (needs ${missing.join(', ')})`);
    return;
  }
  console.log(`\n==> ${name}`);
  const started = Date.now();
  try {
    const note = await fn(); // a step may answer a short note for the summary
    results.push({
      name,
      status: 'passed',
      seconds: (Date.now() - started) / 1000,
      note: typeof note === 'string' ? note : undefined,
    });
  } catch (err) {
    const note = interrupted ? `interrupted by ${interrupted}` : err.message;
    results.push({ name, status: 'failed', seconds: (Date.now() - started) / 1000, note });
    console.log(`==> ${name}: FAILED: ${err.message}`);
  }
}

function summary() {
  const width = Math.max(...results.map((r) => r.name.length), 4);
  console.log('\nSummary');
  for (const r of results) {
    const time = r.status === 'skipped' ? '' : `${r.seconds.toFixed(1).padStart(7)} s`;
    const note = r.note ? `  ${r.note}` : '';
    console.log(`  ${r.status.toUpperCase().padEnd(7)} ${r.name.padEnd(width)} ${time}${note}`);
  }
  const count = (status) => results.filter((r) => r.status === status).length;
  const skipped = count('skipped');
  console.log(`${count('passed')} passed, ${count('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return count('failed') + skipped === 0;
}

async function stopServer() {
  const running = server;
  server = null;
  if (running) await running.stop();
}

async function stopPostgres() {
  const running = postgres;
  postgres = null;
  if (running) await running.stop();
}

/**
 * First signal: end the running step, skip the rest, stop the server and the PostgreSQL cluster,
 * print the summary. Second: exit now.
 */
function onSignal(signal) {
  if (interrupted) process.exit(1); // the 'exit' hooks in server.mjs and postgres.mjs still stop them
  interrupted = signal;
  console.log(`\n${signal}: stopping`);
  if (current) killGroup(current, 'SIGTERM');
}

// ---------------------------------------------------------------- the wasm browser suite

/** `cargo test` of the client's browser tests (lib and tests/*.rs; no doc tests). */
const WASM_TEST = ['test', '--target', 'wasm32-unknown-unknown', '-p', 'stowage', '--tests'];

/** The environment of the build and of each engine's run; the same for both, so nothing rebuilds. */
function wasmTestEnv(serverUrl) {
  return {
    STOWAGE_TEST_SERVER: serverUrl,
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: 'wasm-bindgen-test-runner',
    // wasm-bindgen-test-runner gives each headless run this many seconds (default 20).
    WASM_BINDGEN_TEST_TIMEOUT: process.env.WASM_BINDGEN_TEST_TIMEOUT || '300',
  };
}

/**
 * Checks from the run's output that every browser test binary ran in the engine asked for (the
 * runner's `Running headless tests in NAME` line) and answers a note: tests passed, user agent.
 */
function checkEngineRun(engine, output) {
  const ranIn = [...output.matchAll(/Running headless tests in (\S+) on/g)].map((m) => m[1]);
  const wrong = ranIn.filter((n) => n !== engine.runnerName);
  if (ranIn.length === 0 || wrong.length > 0) {
    throw new Error(`expected the tests to run in ${engine.runnerName}, the runner used: ${ranIn.join(', ') || 'no browser'}`);
  }
  const passedTests = [...output.matchAll(/test result: ok\. (\d+) passed/g)].reduce((n, m) => n + Number(m[1]), 0);
  const agent = output.match(/stowage-browser-under-test: (.*)/)?.[1]?.trim() ?? 'user agent not printed';
  return `${passedTests} tests passed; ${agent}`;
}

// ---------------------------------------------------------------- main

async function main() {
  const { engines, groups, skipLint } = parseCommandLine(process.argv.slice(2));
  mkdirSync(ARTIFACTS, { recursive: true });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  // Firefox, WebKit and their drivers only when a browser suite will run in them.
  // --all: Firefox and WebKit's drivers, and nginx for the page group's proxy test.
  const needsMoreEngines = groups.has('page') || (groups.has('wasm') && engines.some((name) => name !== 'chrome'));
  const wantsPostgres = groups.has('cargo') || groups.has('postgres');
  await step('setup', () =>
    run('bash', [
      'scripts/setup.sh',
      ...(needsMoreEngines ? ['--all'] : []),
      ...(wantsPostgres || groups.has('cluster') ? ['--postgres'] : []),
      ...(groups.has('cluster') ? ['--garage'] : []),
    ], { timeoutMs: 45 * MINUTE }),
  );

  if (groups.has('cargo')) {
    if (!skipLint) {
      await step('cargo fmt --check', () => run('cargo', ['fmt', '--all', '--check'], { timeoutMs: 5 * MINUTE }));
      await step('cargo clippy', () =>
        run('cargo', ['clippy', '--workspace', '--all-targets', '--', '-D', 'warnings']),
      );
    }
    // SQLite: whatever database the caller's environment names is not for this run.
    await step('cargo test', () => run('cargo', ['test', '--workspace'], { unset: DATABASE_VARIABLES }));
  }
  if (wantsPostgres) {
    // The server's tests again, each on its own database or schema of a throwaway cluster.
    await step('cargo test (PostgreSQL)', async () => {
      postgres = await startPostgres({ log: console.log, logFile: join(ARTIFACTS, 'postgres.log') });
      try {
        if (interrupted) throw new Error(`interrupted by ${interrupted}`);
        await run('cargo', ['test', '-p', 'stowage-devserver', '-p', 'stowage-tests'], {
          env: { STOWAGE_TEST_DATABASE: postgres.url },
          unset: DATABASE_VARIABLES,
        });
        return `on ${postgres.version}`;
      } finally {
        await stopPostgres();
      }
    });
  }

  const wantsWasm = groups.has('wasm');
  const wantsPage = groups.has('page');
  if (wantsPage) {
    await step('build wasm package', () => run('bash', ['scripts/build-wasm.sh']));
    // Fails when the package's gzip size (wasm + JS) grows past its budget (issue 12).
    await step('wasm package size', () => run(process.execPath, ['tests/package-size.mjs']), {
      needs: ['build wasm package'],
    });
    await step('page error sentences', () => run(process.execPath, ['--test', 'tests/errors.test.mjs']));
  }
  const wantsApi = groups.has('api');
  if (wantsWasm || wantsPage || wantsApi) {
    await step('build devserver', () => run('cargo', ['build', '-p', 'stowage-devserver', '--release']));
    await step(
      'start devserver',
      async () => {
        server = await startServer({ logFile: join(ARTIFACTS, 'devserver.log') });
        console.log(`devserver at ${server.url} (data ${server.dataDir}, log tests/artifacts/devserver.log)`);
      },
      { needs: ['build devserver'] },
    );
    const url = () => server?.url ?? '';
    if (wantsApi) {
      // Code written against Cognite's JavaScript SDK, unchanged, with baseUrl at Stowage.
      await step(
        '@cognite/sdk against the server',
        () =>
          run(process.execPath, ['--test', 'tests/cognite-sdk.test.mjs'], {
            env: { STOWAGE_URL: url(), STOWAGE_APP: APP_ID, STOWAGE_KEY: API_KEY },
            timeoutMs: 10 * MINUTE,
          }),
        { needs: ['start devserver'] },
      );
      // Code written against the `backendless` SDK, unchanged, with serverURL at Stowage; it uses
      // the `locked` and `demo` apps that tests/server.mjs starts the server with.
      await step(
        'backendless SDK against the server',
        () =>
          run(process.execPath, ['--test', 'tests/backendless-sdk.test.mjs'], {
            env: { STOWAGE_URL: url() },
            timeoutMs: 10 * MINUTE,
          }),
        { needs: ['start devserver'] },
      );
    }
    if (wantsWasm) {
      // Built once, against this server's URL (read at build time), then run in every engine.
      await step('build wasm browser tests', () => run('cargo', [...WASM_TEST, '--no-run'], { env: wasmTestEnv(url()) }), {
        needs: ['start devserver'],
      });
    }
    // Browsers keep Blobs and their profile in TMPDIR: one with room for the suites' big files.
    const scratch = browserScratch(ROOT);
    const browserEnv = scratch ? { TMPDIR: scratch.dir } : {};
    if (scratch) console.log(`browser scratch directory ${scratch.dir} (${scratch.freeMiB} MiB free)`);
    if (scratch && scratch.freeMiB < 2048) {
      console.log(`warning: ${scratch.freeMiB} MiB free for the browsers; the 96 MiB and 64 MiB uploads need about 1 GiB`);
    }
    for (const name of engines) {
      const engine = ENGINES[name];
      if (wantsWasm) {
        await step(
          `wasm browser tests (${name})`,
          async () => {
            // `--nocapture` lets the suite's user-agent line through to the log.
            // `--no-fail-fast`: a failing test binary does not keep the next one from running.
            const [cmd, ...args] = [...engine.wrapper, 'cargo', ...WASM_TEST, '--no-fail-fast', '--', '--nocapture'];
            const output = await run(cmd, args, {
              env: { ...wasmTestEnv(url()), ...engine.driverEnv(), ...browserEnv },
              unset: DRIVER_VARIABLES,
              capture: true,
            });
            return checkEngineRun(engine, output);
          },
          { needs: ['build wasm browser tests'] },
        );
      }
      if (wantsPage) {
        const file = engine.page.kind === 'playwright' ? 'tests/page.test.mjs' : 'tests/page-webdriver.test.mjs';
        await step(
          `page test (${name})`,
          () =>
            run(process.execPath, ['--test', file], {
              env: { STOWAGE_TEST_SERVER: url(), STOWAGE_BROWSER: name, ...browserEnv },
              timeoutMs: 10 * MINUTE,
            }),
          { needs: ['build wasm package', 'start devserver'] },
        );
        // The client in a module Web Worker (tests/worker/): upload, multipart with CRC32C,
        // resume in a new worker, download, aborts. Starts its own server (256 KiB parts).
        await step(
          `worker (${name})`,
          () =>
            run(process.execPath, ['--test', 'tests/worker.test.mjs'], {
              env: { STOWAGE_BROWSER: name, ...browserEnv },
              timeoutMs: 10 * MINUTE,
            }),
          { needs: ['build wasm package', 'build devserver'] },
        );
      }
    }
    if (wantsPage) {
      // `npm pack` of www/pkg installed with vite into a fresh app, `vite build`, the output served
      // from another origin and driven in Chromium: upload, download, compare. Starts its own server.
      await step(
        'vite app from the packed package',
        () => run(process.execPath, ['--test', 'tests/vite-app.test.mjs'], { env: browserEnv, timeoutMs: 10 * MINUTE }),
        { needs: ['build wasm package', 'build devserver'] },
      );
    }
    if (wantsPage) {
      // Chromium through nginx with TLS (self-signed) in front of a --trust-proxy server, then a
      // server on 0.0.0.0 reached by two addresses: every upload path, every URL handed back on
      // the origin the page used. Starts its own servers and nginx (scripts/setup.sh --all).
      await step(
        'behind a TLS proxy, and on 0.0.0.0',
        () => run(process.execPath, ['--test', 'tests/proxy.test.mjs'], { env: browserEnv, timeoutMs: 10 * MINUTE }),
        { needs: ['build wasm package', 'build devserver'] },
      );
    }
    if (scratch) rmSync(scratch.dir, { recursive: true, force: true });
  }

  await stopServer();
  if (groups.has('cluster')) {
    const ran = (name) => results.some((r) => r.name === name);
    if (!ran('build devserver')) {
      await step('build devserver', () => run('cargo', ['build', '-p', 'stowage-devserver', '--release']));
    }
    const scratch = browserScratch(ROOT);
    await clusterSteps({
      step,
      run,
      unsetDatabases: DATABASE_VARIABLES,
      interrupted: () => interrupted,
      wasm: {
        test: WASM_TEST,
        env: wasmTestEnv,
        engine: ENGINES.chrome,
        browserEnv: scratch ? { TMPDIR: scratch.dir } : {},
        unset: DRIVER_VARIABLES,
        check: checkEngineRun,
      },
    });
    if (scratch) rmSync(scratch.dir, { recursive: true, force: true });
  }
  if (groups.has('bench')) {
    // Not a timed test: a quick bench run must produce well-formed results (issue 5).
    const ran = (name) => results.some((r) => r.name === name);
    if (!ran('build wasm package')) await step('build wasm package', () => run('bash', ['scripts/build-wasm.sh']));
    if (!ran('build devserver')) {
      await step('build devserver', () => run('cargo', ['build', '-p', 'stowage-devserver', '--release']));
    }
    await step(
      'bench --quick',
      () => run(process.execPath, ['bench/run.mjs', '--quick', '--no-build'], { timeoutMs: 10 * MINUTE }),
      { needs: ['build wasm package', 'build devserver'] },
    );
    await step('bench results well formed', () => run(process.execPath, ['bench/check-results.mjs', '--quick']), {
      needs: ['bench --quick'],
    });
  }
  const ok = summary();
  process.exitCode = interrupted ? 128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[interrupted] : ok ? 0 : 1;
}

main().catch(async (err) => {
  console.error(err);
  await stopServer();
  await stopPostgres();
  process.exitCode = 1;
});
