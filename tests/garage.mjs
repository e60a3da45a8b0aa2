// A throwaway Garage cluster (an S3-compatible object store) for tests: N nodes (3 by default) on
// free ports of 127.0.0.1, each with its own garage.toml, metadata and data directories under one
// fresh temporary directory, replication factor 3, one bucket and one access key allowed to read,
// write and own it. Each node's output goes to tests/artifacts/garage-N.log, with the `garage`
// commands run through that node's configuration. `stop()` kills the nodes and removes the
// directory; so does this process's exit, and SIGINT, SIGTERM or SIGHUP when nothing else handles them.
// Builds and installs nothing: `scripts/setup.sh --garage` does (`cargo install garage`).
//
//   node tests/garage.mjs --smoke   start a cluster, PUT on node 0 with curl, GET from nodes 1
//                                   and 2, kill node 1, GET from node 2, restart node 1, GET from it
//   node tests/garage.mjs --serve   start a cluster, print its environment as `export K=V` lines,
//                                   stop it on SIGINT or SIGTERM

import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { accessSync, constants, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARTIFACTS, freePort } from './server.mjs';

export const GARAGE_REGION = 'garage';
export const GARAGE_BUCKET = 'stowage-test';
const KEY_NAME = 'stowage-test-key';
const MINUTE = 60_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- finding and running garage

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The `garage` binary: on PATH, else ~/.cargo/bin/garage (where `cargo install` puts it), else null. */
export function findGarage() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), join(homedir(), '.cargo', 'bin')];
  for (const dir of [...new Set(dirs)]) if (executable(join(dir, 'garage'))) return join(dir, 'garage');
  return null;
}

/** The environment without GARAGE_* variables (Garage reads its configuration from some), quiet logs. */
function garageEnv() {
  const env = { ...process.env, RUST_LOG: 'garage=warn,netapp=warn,warn', NO_COLOR: '1', LC_ALL: 'C' };
  for (const key of Object.keys(env)) if (key.startsWith('GARAGE_')) delete env[key];
  return env;
}

/**
 * Runs `argv`, resolves `{ stdout, output }` (output: stdout and stderr), rejects with the output's
 * last lines on failure.
 */
function exec(argv, { timeoutMs = MINUTE, env = garageEnv(), label = basename(argv[0]) } = {}) {
  const [cmd, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      if (stdout.length < 1024 * 1024) stdout += chunk.toString();
      if (output.length < 1024 * 1024) output += chunk.toString();
    });
    child.stderr.on('data', (chunk) => {
      if (output.length < 1024 * 1024) output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${label}: ${err.message}`), { output }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, output });
      const tail = output.trim().split('\n').slice(-5).join(' | ');
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(Object.assign(new Error(`${label} ${how}${tail ? `: ${tail}` : ''}`), { output }));
    });
  });
}

// ---------------------------------------------------------------- S3 requests (SigV4)

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

/** `fetch` with an AWS Signature Version 4 (unsigned payload), path-style: enough for HEAD bucket. */
async function s3Fetch(url, { method = 'GET', region, accessKeyId, secretAccessKey, timeoutMs = 5_000, body, headers = {} }) {
  const u = new URL(url);
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const payload = 'UNSIGNED-PAYLOAD';
  const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...u.searchParams]
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonical = [method, u.pathname, query, `host:${u.host}`, `x-amz-content-sha256:${payload}`, `x-amz-date:${amzDate}`, '', signedHeaders, payload].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return fetch(url, {
    method,
    body,
    headers: {
      ...headers,
      'x-amz-content-sha256': payload,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
    signal: AbortSignal.timeout(timeoutMs),
  });
}

// ---------------------------------------------------------------- the cluster

/** Node i's garage.toml; `peers` (`ID@ADDR`, known once every node has started) for bootstrap_peers. */
function configText(node, rpcSecret, peers = []) {
  return `# node ${node.index} of a throwaway cluster (tests/garage.mjs)
metadata_dir = "${join(node.dir, 'meta')}"
data_dir = "${join(node.dir, 'data')}"
db_engine = "sqlite"
replication_factor = 3

rpc_bind_addr = "127.0.0.1:${node.rpcPort}"
rpc_public_addr = "127.0.0.1:${node.rpcPort}"
rpc_secret = "${rpcSecret}"
bootstrap_peers = [${peers.map((peer) => `"${peer}"`).join(', ')}]

[s3_api]
s3_region = "${GARAGE_REGION}"
api_bind_addr = "127.0.0.1:${node.s3Port}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:${node.adminPort}"
`;
}

const logTail = (file, lines = 15) => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
};

/**
 * Starts a throwaway cluster of `nodes` Garage nodes (at least 3: the replication factor) and
 * resolves once every node serves the bucket to the key. `log` prints progress lines. Resolves
 * `{ endpoints, region, bucket, accessKeyId, secretAccessKey, blobsUrl, dir, logFiles, env(i),
 * kill(i), restart(i), stop() }`: `endpoints[i]` is node i's S3 API (`http://127.0.0.1:PORT`,
 * path-style); `env(i)` the AWS_* variables for it; `kill(i)` SIGKILLs node i; `restart(i)` starts
 * it again (same directories and ports) and waits until it serves the bucket; `stop()` kills every
 * node and removes the directory.
 */
export async function startGarage({
  nodes: count = 3,
  log = () => {},
  bucket = GARAGE_BUCKET,
  timeoutMs = 2 * MINUTE,
  attempts = 3,
} = {}) {
  if (!Number.isInteger(count) || count < 3) throw new Error(`a Garage cluster with replication factor 3 needs at least 3 nodes, not ${count}`);
  const bin = findGarage();
  if (!bin) throw new Error('garage not found on PATH nor in ~/.cargo/bin: install it with `scripts/setup.sh --garage`');
  const began = Date.now();
  const deadline = began + timeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'stowage-garage-'));
  const rpcSecret = randomBytes(32).toString('hex');
  mkdirSync(ARTIFACTS, { recursive: true });

  const nodes = [];
  for (let index = 0; index < count; index += 1) {
    const node = { index, dir: join(dir, `node${index}`), config: join(dir, `node${index}.toml`), logFile: join(ARTIFACTS, `garage-${index}.log`) };
    mkdirSync(node.dir);
    node.log = createWriteStream(node.logFile, { flags: 'w' });
    node.log.on('error', () => {}); // the log is a convenience
    node.child = null;
    node.exited = null;
    nodes.push(node);
  }
  const cluster = { endpoints: [], region: GARAGE_REGION, bucket, accessKeyId: null, secretAccessKey: null };
  let stopped = false;

  // Synchronous, for the 'exit' hook and signals.
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    unhook();
    for (const node of nodes) if (node.child && !node.exited) node.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
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

  /** `garage -c nodeI.toml ...args`, written to node i's log. */
  const garage = async (node, args, { timeoutMs: limit = 30_000 } = {}) => {
    node.log.write(`# $ garage -c ${node.config} ${args.join(' ')}\n`);
    try {
      const result = await exec([bin, '-c', node.config, ...args], { timeoutMs: limit, label: `garage ${args.join(' ')}` });
      node.log.write(result.output.replace(/^/gm, '#   '));
      node.log.write('\n');
      return result.stdout;
    } catch (err) {
      node.log.write(`${(err.output ?? err.message).replace(/^/gm, '#   ')}\n`);
      throw err;
    }
  };
  /** Retries `fn` until it resolves, or throws its last error at the deadline. */
  const retry = async (what, fn, until = deadline) => {
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (Date.now() > until) throw new Error(`${what}: ${err.message}`);
        await sleep(250);
      }
    }
  };

  const spawnNode = (node) => {
    node.log.write(`# ${new Date().toISOString()} $ garage -c ${node.config} server\n`);
    const child = spawn(bin, ['-c', node.config, 'server'], { env: garageEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.exited = null;
    child.stdout.pipe(node.log, { end: false });
    child.stderr.pipe(node.log, { end: false });
    // Settles on 'close' (the output is all in the log by then), or on a failure to spawn.
    node.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        node.exited = { code, signal };
      });
      child.on('close', (code, signal) => {
        node.exited ??= { code, signal };
        resolve(node.exited);
      });
      child.on('error', (err) => {
        node.exited = { code: null, signal: null, error: err };
        resolve(node.exited);
      });
    });
  };
  const exitedError = (node) => {
    const { code, signal, error } = node.exited;
    const how = error ? error.message : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const tail = logTail(node.logFile, 8);
    return Object.assign(new Error(`garage node ${node.index} ${how}; see ${node.logFile}${tail ? `:\n${tail}` : ''}`), {
      exitedEarly: true,
      portTaken: /address already in use|address in use|os error 98/i.test(tail),
    });
  };

  /** GET /health on the admin API until it answers (any status; 200 only if `healthy`). */
  const waitAnswering = async (node, { healthy = false, until = deadline } = {}) => {
    let last = 'no answer';
    while (Date.now() < until) {
      if (node.exited) throw exitedError(node);
      try {
        const response = await fetch(`http://127.0.0.1:${node.adminPort}/health`, { signal: AbortSignal.timeout(2_000) });
        const body = (await response.text()).trim();
        if (!healthy || response.ok) return;
        last = `${response.status} ${body.split('\n')[0]}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(100);
    }
    throw new Error(`garage node ${node.index} did not ${healthy ? 'become healthy' : 'answer'} on its admin API (127.0.0.1:${node.adminPort}/health: ${last}) within ${Math.round((until - began) / 1000)} s; see ${node.logFile}`);
  };

  /** A signed HEAD of the bucket on node i until it answers 200. */
  const waitServing = async (node, until = deadline) => {
    let last = 'no answer';
    while (Date.now() < until) {
      if (node.exited) throw exitedError(node);
      try {
        const response = await s3Fetch(`${cluster.endpoints[node.index]}/${bucket}`, { method: 'HEAD', ...cluster });
        if (response.ok) return;
        last = `HTTP ${response.status}`;
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(100);
    }
    throw new Error(`garage node ${node.index} does not serve bucket ${bucket} (HEAD ${cluster.endpoints[node.index]}/${bucket}: ${last}); see ${node.logFile}`);
  };

  /** Node i on fresh free ports: retried when a port was taken between freePort() and the bind. */
  const startNode = async (node) => {
    for (let attempt = 1; ; attempt += 1) {
      node.rpcPort = await freePort();
      node.s3Port = await freePort();
      node.adminPort = await freePort();
      writeFileSync(node.config, configText(node, rpcSecret));
      spawnNode(node);
      try {
        await waitAnswering(node);
        cluster.endpoints[node.index] = `http://127.0.0.1:${node.s3Port}`;
        return;
      } catch (err) {
        if (!err.portTaken || attempt >= attempts) throw err;
        log(`[garage] node ${node.index}: a port was taken, trying others`);
        rmSync(node.dir, { recursive: true, force: true });
        mkdirSync(node.dir);
      }
    }
  };

  const kill = async (i) => {
    const node = nodes[i];
    if (!node) throw new Error(`no garage node ${i}`);
    if (node.child && !node.exited) {
      node.child.kill('SIGKILL');
      await node.exitPromise;
      node.log.write(`# ${new Date().toISOString()} killed (SIGKILL)\n`);
    }
  };

  const restart = async (i, { timeoutMs: limit = MINUTE } = {}) => {
    const node = nodes[i];
    if (!node) throw new Error(`no garage node ${i}`);
    if (stopped) throw new Error('the garage cluster is stopped');
    await kill(i);
    spawnNode(node);
    const until = Date.now() + limit;
    await waitAnswering(node, { healthy: true, until });
    await waitServing(node, until);
  };

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unhook();
    await Promise.all(
      nodes.map(async (node) => {
        if (node.child && !node.exited) node.child.kill('SIGKILL');
        if (node.child) await node.exitPromise;
        if (!node.log.writableEnded) await new Promise((resolve) => node.log.end(resolve));
      }),
    );
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  };

  try {
    const version = (await exec([bin, '--version'])).stdout.trim();
    log(`[garage] ${version}: starting ${count} nodes in ${dir}`);
    // Every node settles (none is left starting while we stop), then the first failure counts.
    const failed = (await Promise.allSettled(nodes.map(startNode))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;

    // Node ids (`node id -q` prints ID@ADDR), then everyone connects to node 0.
    for (const node of nodes) {
      const out = await retry(`garage node id (node ${node.index})`, () => garage(node, ['node', 'id', '-q']));
      const match = /\b([0-9a-f]{64})@/.exec(out);
      if (!match) throw new Error(`garage node id printed no id: ${out.trim()}`);
      node.id = match[1];
    }
    const [first, ...others] = nodes;
    for (const node of others) {
      await retry(`garage node connect (node ${node.index})`, () => garage(first, ['node', 'connect', `${node.id}@127.0.0.1:${node.rpcPort}`]));
    }
    // A restarted node reads these and connects to the others at once, instead of waiting for
    // them to notice it is back (which takes them about 10 s).
    for (const node of nodes) {
      const peers = nodes.filter((peer) => peer !== node).map((peer) => `${peer.id}@127.0.0.1:${peer.rpcPort}`);
      writeFileSync(node.config, configText(node, rpcSecret, peers));
    }
    for (const node of nodes) {
      await garage(first, ['layout', 'assign', '-z', 'dc1', '-c', '1G', node.id]);
    }
    await garage(first, ['layout', 'apply', '--version', '1']);
    log(`[garage] layout applied, waiting for every node to be healthy`);
    for (const node of nodes) await waitAnswering(node, { healthy: true });

    await retry('garage bucket create', () => garage(first, ['bucket', 'create', bucket]));
    let keyInfo = await garage(first, ['key', 'create', KEY_NAME]);
    if (!/Secret key:\s*[0-9a-f]{64}/.test(keyInfo)) keyInfo = await garage(first, ['key', 'info', '--show-secret', KEY_NAME]);
    const keyId = /Key ID:\s*(GK[0-9a-f]+)/.exec(keyInfo);
    const secret = /Secret key:\s*([0-9a-f]{64})/.exec(keyInfo);
    if (!keyId || !secret) throw new Error(`could not read the key id and secret from garage key create/info: ${keyInfo.trim()}`);
    cluster.accessKeyId = keyId[1];
    cluster.secretAccessKey = secret[1];
    await garage(first, ['bucket', 'allow', '--read', '--write', '--owner', bucket, '--key', KEY_NAME]);
    for (const node of nodes) await waitServing(node);
    log(`[garage] ${count} nodes serve s3://${bucket} at ${cluster.endpoints.join(' ')} (${((Date.now() - began) / 1000).toFixed(1)} s)`);
  } catch (err) {
    await stop();
    throw new Error(`Garage did not start: ${err.message}`);
  }

  return {
    ...cluster,
    endpoints: [...cluster.endpoints],
    blobsUrl: `s3://${bucket}`,
    dir,
    logFiles: nodes.map((node) => node.logFile),
    env: (i = 0) => {
      if (!cluster.endpoints[i]) throw new Error(`no garage node ${i}`);
      return {
        AWS_ENDPOINT_URL: cluster.endpoints[i],
        AWS_REGION: GARAGE_REGION,
        AWS_ACCESS_KEY_ID: cluster.accessKeyId,
        AWS_SECRET_ACCESS_KEY: cluster.secretAccessKey,
        AWS_ALLOW_HTTP: 'true',
      };
    },
    kill,
    restart,
    stop,
    /**
     * PutBucketCors: browsers on any origin may PUT parts and GET objects straight from the
     * bucket, and read the ETag of a part (what `--direct-to-store` needs; docs/deploy.md).
     */
    allowBrowsers: async () => {
      const xml =
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>' +
        '<AllowedMethod>HEAD</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader>' +
        '<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>';
      const answer = await s3Fetch(`${cluster.endpoints[0]}/${bucket}?cors=`, {
        method: 'PUT',
        region: GARAGE_REGION,
        accessKeyId: cluster.accessKeyId,
        secretAccessKey: cluster.secretAccessKey,
        body: xml,
        headers: { 'content-md5': createHash('md5').update(xml).digest('base64'), 'content-type': 'application/xml' },
      });
      if (answer.status !== 200) throw new Error(`PutBucketCors answered ${answer.status}: ${await answer.text()}`);
    },
  };
}

// ---------------------------------------------------------------- command line

async function smoke() {
  const ms = (since) => `${Date.now() - since} ms`;
  const say = (line) => console.log(`[garage smoke] ${line}`);
  if (spawnSync('curl', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('curl is not installed');
  let t = Date.now();
  const g = await startGarage({ log: (line) => console.log(line) });
  const timings = { start: ms(t) };
  try {
    const scratch = join(g.dir, 'smoke');
    mkdirSync(scratch);
    // 3 MiB and a bit: several of Garage's 1 MiB blocks.
    const payload = randomBytes(3 * 1024 * 1024 + 12_345);
    const file = join(scratch, 'upload.bin');
    await writeFile(file, payload);
    const key = `smoke/${Date.now()}.bin`;
    const curl = (url, args) =>
      exec(
        ['curl', '-sS', '--fail-with-body', '--max-time', '60', '--aws-sigv4', `aws:amz:${g.region}:s3`, '--user', `${g.accessKeyId}:${g.secretAccessKey}`,
          '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', ...args, url],
        { env: process.env, timeoutMs: 90_000 },
      );
    const get = async (i, label) => {
      const out = join(scratch, `get-${label}.bin`);
      const t0 = Date.now();
      await curl(`${g.endpoints[i]}/${g.bucket}/${key}`, ['-o', out]).catch((err) => {
        throw new Error(`GET from node ${i} (${label}) failed: ${err.message}`);
      });
      timings[`GET node ${i} (${label})`] = ms(t0);
      const got = await readFile(out);
      if (!got.equals(payload)) throw new Error(`GET from node ${i} (${label}): ${got.length} bytes that differ from the ${payload.length} uploaded`);
    };

    t = Date.now();
    await curl(`${g.endpoints[0]}/${g.bucket}/${key}`, ['-T', file]).catch((err) => {
      throw new Error(`PUT on node 0 failed: ${err.message}`);
    });
    timings['PUT node 0'] = ms(t);
    await get(1, 'all up');
    await get(2, 'all up');
    t = Date.now();
    await g.kill(1);
    timings['kill node 1'] = ms(t);
    await get(2, 'node 1 killed');
    t = Date.now();
    await g.restart(1);
    timings['restart node 1'] = ms(t);
    await get(1, 'restarted');
    say(`${payload.length} bytes, key ${key}, every GET equal to the PUT`);
  } finally {
    t = Date.now();
    await g.stop();
    timings.stop = ms(t);
  }
  for (const [what, time] of Object.entries(timings)) say(`${what.padEnd(24)} ${time}`);
  const left = spawnSync('pgrep', ['-f', `garage -c ${g.dir}`], { encoding: 'utf8' }).stdout.trim();
  if (left) throw new Error(`garage processes left behind: ${left}`);
  say('passed');
}

async function serve() {
  let cluster = null;
  let stopping = false;
  const onSignal = async () => {
    if (stopping) return;
    stopping = true;
    if (!cluster) process.exit(130); // the 'exit' hook kills what has started
    console.error('[garage] stopping');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  cluster = await startGarage({ log: (line) => console.error(line) });
  const quote = (v) => `'${String(v).replaceAll("'", "'\\''")}'`;
  for (const [k, v] of Object.entries(cluster.env(0))) console.log(`export ${k}=${quote(v)}`);
  console.log(`# blobs: ${cluster.blobsUrl}; S3 endpoints: ${cluster.endpoints.join(' ')}; logs: ${cluster.logFiles.join(' ')}`);
  console.error('[garage] running; Ctrl-C or SIGTERM stops it');
  setInterval(() => {}, 1 << 30);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = process.argv[2];
  const main = mode === '--smoke' ? smoke : mode === '--serve' ? serve : null;
  if (!main) {
    console.error('usage: node tests/garage.mjs --smoke | --serve');
    process.exit(2);
  }
  main().catch((err) => {
    console.error(`[garage] FAILED: ${err.message}`);
    process.exit(1);
  });
}
