// A throwaway PostgreSQL cluster for tests: a fresh temporary directory, `initdb` with trust
// authentication and superuser `stowage`, the server on a free port of 127.0.0.1 (its Unix socket
// in the same directory), stopped and removed by `stop()`. Installs Debian's `postgresql` (through
// `sudo` unless root, as scripts/setup.sh does) when initdb, pg_ctl and postgres are not found.
// PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` system user (the
// Debian package creates it), else `nobody`, and every PostgreSQL command runs through `runuser`.

import { spawn, spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { ARTIFACTS, freePort } from './server.mjs';

/** The cluster's superuser, and the database the answered URL names. */
export const PG_USER = 'stowage';
const MINUTE = 60_000;
const isRoot = process.getuid?.() === 0;

// ---------------------------------------------------------------- finding and installing

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** `/usr/lib/postgresql/N/bin`, newest N first. */
function debianBinDirs() {
  const base = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = readdirSync(base).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return [];
  }
  return versions.sort((a, b) => Number(b) - Number(a)).map((v) => join(base, v, 'bin'));
}

/** The first directory (PATH, /usr/local/bin, /usr/lib/postgresql/*\/bin) holding initdb, pg_ctl and postgres. */
export function findPostgresBin() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/bin', ...debianBinDirs()];
  for (const dir of [...new Set(dirs)]) {
    if (['initdb', 'pg_ctl', 'postgres'].every((name) => executable(join(dir, name)))) return dir;
  }
  return null;
}

/** psql: next to the server binaries if there, else on PATH, else Debian's wrapper. */
function findPsql() {
  const dirs = [findPostgresBin(), ...(process.env.PATH ?? '').split(delimiter), '/usr/bin', ...debianBinDirs()];
  for (const dir of dirs) if (dir && executable(join(dir, 'psql'))) return join(dir, 'psql');
  return null;
}

/** `apt-get install` of what dpkg does not have, through sudo unless root: scripts/setup.sh's apt_install. */
async function aptInstall(packages, log) {
  const missing = packages.filter((pkg) => spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return;
  const sudo = (args) => (isRoot ? args : ['sudo', ...args]);
  log(`[postgres] apt-get update`);
  await exec(sudo(['apt-get', 'update', '-qq']), { timeoutMs: 10 * MINUTE });
  log(`[postgres] apt-get install ${missing.join(' ')}`);
  await exec(sudo(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', ...missing]), {
    timeoutMs: 20 * MINUTE,
  });
}

async function ensureInstalled(log) {
  let bin = findPostgresBin();
  if (!bin) {
    log('[postgres] initdb, pg_ctl and postgres not found: installing Debian\'s postgresql');
    try {
      await aptInstall(['postgresql'], log);
    } catch (err) {
      throw new Error(`PostgreSQL is not installed and installing Debian's postgresql failed: ${err.message}`);
    }
    bin = findPostgresBin();
    if (!bin) throw new Error('PostgreSQL is not installed: no initdb, pg_ctl and postgres even after installing postgresql');
  }
  return bin;
}

// ---------------------------------------------------------------- running commands

const shellQuote = (text) => `'${text.replaceAll("'", "'\\''")}'`;

/** The environment without PG* variables (PGDATA, PGPORT, PGOPTIONS...) that would change what the commands do. */
function cleanEnv() {
  const env = { ...process.env, LC_ALL: 'C' };
  for (const key of Object.keys(env)) if (key.startsWith('PG')) delete env[key];
  return env;
}

/** Runs `argv`, resolves its output (stdout and stderr), rejects with the output's last lines on failure. */
function exec(argv, { cwd, timeoutMs = MINUTE } = {}) {
  const [cmd, ...args] = argv;
  // Errors name the program, not the runuser in front of it.
  const name = basename(cmd === 'runuser' ? argv[argv.indexOf('--') + 1] : cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk) => {
      if (output.length < 1024 * 1024) output += chunk.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${name}: ${err.message}`), { output }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(output);
      const tail = output.trim().split('\n').slice(-5).join(' | ');
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(Object.assign(new Error(`${name} ${how}${tail ? `: ${tail}` : ''}`), { output }));
    });
  });
}

/** The user the cluster runs as when we are root: `postgres` if it exists, else `nobody`. */
function clusterUser() {
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error('running as root and neither a postgres nor a nobody user exists to own the cluster');
}

// ---------------------------------------------------------------- the cluster

/**
 * Starts a throwaway cluster. `log` prints progress lines; `logFile` receives initdb's output and
 * the server log when the cluster stops (or fails to start). Resolves
 * `{ url, port, dir, logFile, version, stop }`: `url` is `postgres://stowage@127.0.0.1:PORT/postgres`,
 * whose user may CREATE DATABASE and CREATE SCHEMA (it is the superuser); `stop()` shuts the
 * server down (`pg_ctl stop -m fast`) and removes the directory. The cluster is also stopped
 * when this process exits, and on SIGINT, SIGTERM or SIGHUP if nothing else handles them.
 */
export async function startPostgres({
  log = () => {},
  logFile = join(ARTIFACTS, 'postgres.log'),
  attempts = 3,
  timeoutMs = MINUTE,
} = {}) {
  const bin = await ensureInstalled(log);
  const user = isRoot ? clusterUser() : null;
  // As root: run as the cluster's user, with a working directory it can read.
  const as = (argv) => (user ? ['runuser', '-u', user.name, '--', ...argv] : argv);
  const pg = (name) => join(bin, name);

  const dir = await makeDir(user);
  const data = join(dir, 'data');
  const serverLog = join(dir, 'server.log');
  let transcript = `# PostgreSQL binaries in ${bin}${user ? `, cluster owned by ${user.name}` : ''}, directory ${dir}\n`;
  let started = false;
  let stopped = false;

  const saveLog = () => {
    try {
      mkdirSync(dirname(logFile), { recursive: true });
      const server = existsSync(serverLog) ? readFileSync(serverLog, 'utf8') : '';
      writeFileSync(logFile, `${transcript}\n# server log\n${server}`);
    } catch {
      // the log is a convenience
    }
  };

  // Synchronous, for the 'exit' hook and signals: immediate shutdown, then the directory goes.
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    unhook();
    if (started) {
      const [cmd, ...args] = as([pg('pg_ctl'), '-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop']);
      spawnSync(cmd, args, { cwd: dir, env: cleanEnv(), stdio: 'ignore', timeout: 30_000 });
    }
    saveLog();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    stopNow();
    process.kill(process.pid, signal); // nothing else listens (see hook): the default action
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let hookedSignals = [];
  const hook = () => {
    process.on('exit', stopNow);
    // Only where no one else handles the signal (tests/run.mjs does, and stops us itself).
    hookedSignals = signals.filter((s) => process.listenerCount(s) === 0);
    for (const s of hookedSignals) process.once(s, onSignal);
  };
  const unhook = () => {
    process.off('exit', stopNow);
    for (const s of hookedSignals) process.off(s, onSignal);
  };
  hook();

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unhook();
    if (started) {
      try {
        await exec(as([pg('pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']), { cwd: dir, timeoutMs: 2 * MINUTE });
      } catch (err) {
        transcript += `# pg_ctl stop -m fast failed (${err.message}); stopping it -m immediate\n`;
        const [cmd, ...args] = as([pg('pg_ctl'), '-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop']);
        spawnSync(cmd, args, { cwd: dir, env: cleanEnv(), stdio: 'ignore', timeout: 30_000 });
      }
    }
    saveLog();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const version = (await exec([pg('postgres'), '--version'])).trim().replace(/^postgres \(PostgreSQL\) /, 'PostgreSQL ');
    const initdb = as([pg('initdb'), '-D', data, '-A', 'trust', '-U', PG_USER, '--encoding=UTF8', '--locale=C', '--no-instructions']);
    transcript += `$ ${initdb.join(' ')}\n`;
    log(`[postgres] initdb (${version}) in ${data}`);
    transcript += await exec(initdb, { cwd: dir, timeoutMs: 2 * MINUTE });

    // The port is free when asked for, but another process may take it first: then try another.
    let lastError;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      const port = await freePort();
      // pg_ctl hands these to the server through /bin/sh: quote the directory.
      const options = `-p ${port} -k ${shellQuote(dir)} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`;
      const start = as([pg('pg_ctl'), '-D', data, '-o', options, '-l', serverLog, '-w', '-t', String(timeoutMs / 1000), 'start']);
      transcript += `$ ${start.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\n`;
      started = true; // from here on, stopping is worth trying even if pg_ctl fails
      const logBefore = existsSync(serverLog) ? readFileSync(serverLog, 'utf8').length : 0;
      try {
        transcript += await exec(start, { cwd: dir, timeoutMs: timeoutMs + 30_000 });
        const url = `postgres://${PG_USER}@127.0.0.1:${port}/postgres`;
        log(`[postgres] ${version} at ${url} (cluster in ${dir})`);
        /**
         * Stops the server (`pg_ctl stop -m fast`: sessions are cut, as in a real restart),
         * awaits `whileDown()` and starts it again on the same port and directory, even when
         * `whileDown` throws. Resolves what `whileDown` resolved.
         */
        const restart = async (whileDown = async () => {}) => {
          if (stopped) throw new Error('the PostgreSQL cluster is stopped');
          const halt = as([pg('pg_ctl'), '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
          transcript += `$ ${halt.join(' ')}\n`;
          transcript += await exec(halt, { cwd: dir, timeoutMs: 2 * MINUTE });
          log(`[postgres] stopped (restart)`);
          try {
            return await whileDown();
          } finally {
            if (!stopped) {
              transcript += `$ ${start.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')}\n`;
              transcript += await exec(start, { cwd: dir, timeoutMs: timeoutMs + 30_000 });
              log(`[postgres] started again at ${url}`);
            }
          }
        };
        return { url, port, dir, logFile, version, stop, restart };
      } catch (err) {
        lastError = err;
        transcript += err.output ?? '';
        const server = existsSync(serverLog) ? readFileSync(serverLog, 'utf8').slice(logBefore) : '';
        if (!/could not bind|Address already in use/i.test(server)) break;
        log(`[postgres] port ${port} was taken, trying another`);
      }
    }
    throw lastError;
  } catch (err) {
    const server = existsSync(serverLog) ? readFileSync(serverLog, 'utf8').trim() : '';
    if (server) log(`[postgres] server log:\n${server.split('\n').slice(-20).join('\n')}`);
    stopNow();
    throw new Error(`PostgreSQL did not start: ${err.message} (log: ${logFile})`);
  }
}

/**
 * A fresh directory for the cluster, owned by the cluster's user when we are root. Under the
 * system's temporary directory, or /tmp when that user cannot reach it.
 */
async function makeDir(user) {
  for (const parent of [...new Set([tmpdir(), '/tmp'])]) {
    const dir = await mkdtemp(join(parent, 'stowage-pg-'));
    if (!user) return dir;
    chownSync(dir, user.uid, user.gid);
    if (spawnSync('runuser', ['-u', user.name, '--', 'test', '-w', dir, '-a', '-x', dir], { stdio: 'ignore' }).status === 0) {
      return dir;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`${user.name} cannot write to a directory under ${tmpdir()} or /tmp`);
}

// ---------------------------------------------------------------- databases

/** `"name"` with its quotes doubled, for SQL. */
const quoteIdent = (name) => `"${String(name).replaceAll('"', '""')}"`;

/**
 * Runs `CREATE DATABASE name` on the server of `url` (with psql) and answers the URL of the new
 * database: `url` with its path replaced.
 */
export async function createDatabase(url, name, { log = () => {} } = {}) {
  let psql = findPsql();
  if (!psql) {
    await aptInstall(['postgresql'], log);
    psql = findPsql();
    if (!psql) throw new Error('psql not found, even after installing postgresql');
  }
  await exec([psql, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', `CREATE DATABASE ${quoteIdent(name)}`]);
  const answer = new URL(url);
  answer.pathname = `/${encodeURIComponent(name)}`;
  return answer.href;
}
