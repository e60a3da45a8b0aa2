// The URLs the server hands out (file URLs, Cognite's `uploadUrl` and `downloadlink`, multipart
// part URLs, bkend presigned PUT and GET URLs), where a browser reaches the server other than
// on `http://127.0.0.1:PORT`:
//
// 1. Behind a real TLS reverse proxy on loopback: Debian's nginx (our own instance: our config,
//    `daemon off`, pid and logs in a temp dir, a free port; never the system's service) with a
//    self-signed certificate made by openssl, in front of a server started with `--trust-proxy`;
//    the proxy settings are those of docs/deploy.md §5. Headless Chromium loads the demo page
//    through https on the proxy (over HTTP/2, which the access log must show) and runs `upload()` of a
//    non-ASCII-named file, `uploadMultipart()`, `startUpload()`, a multipart upload by hand
//    (`createMultipart` / `presignParts` / `uploadPart` / `completeMultipart`), `download()`,
//    `createFile` (record + `uploadUrl`, then `downloadUrls`) and bkend's presigned upload and
//    download (`/v1/files/presigned-url`, `download-url`; the client has no call for those, so
//    the page uses `fetch`). Every URL handed back, every request the page made and every URL in
//    a JSON answer must be on `https://127.0.0.1:PROXY`, and the bytes must round-trip (in the
//    page, and from Node through the proxy against the files on disk). From Node: a forged
//    `X-Forwarded-Host` / `Forwarded` is not believed through the proxy (nginx overwrites it), nor
//    by a server without `--trust-proxy`, reached through a second nginx port or directly.
// 2. The server on `0.0.0.0` (no proxy, no test hooks, so 5 MiB parts): the same scenario from
//    `http://127.0.0.1:PORT` and from this machine's first non-loopback IPv4 address, if it has
//    one; every URL must name the host the page used.
//
// Needs www/pkg/ and target/release/stowage-devserver (built by `npm run build`), nginx
// (`scripts/setup.sh --all`; or $NGINX) and openssl. Logs: tests/artifacts/devserver-proxy*.log,
// tests/artifacts/nginx-proxy-error.log.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, which } from './engines.mjs';
import { API_KEY, APP_ID, ARTIFACTS, freePort, startServer } from './server.mjs';

const KIB = 1024;
const MIB = 1024 * KIB;
/** The proxied server's smallest part (lowered with its test hooks). */
const SMALL_PART = 64 * KIB;
/** The server's default smallest part: what the `0.0.0.0` server (no test hooks) allows. */
const DEFAULT_PART = 5 * MIB;
const unique = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
/** Not ASCII, with spaces: the name of the single upload (and, prefixed, of the others). */
const ODD_NAME = `Grüße – 日本語 ✓ ${unique}.txt`;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let workDir;
let browser;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'stowage-proxy-'));
  // nginx's workers (`nobody` when it runs as root) write proxy_temp/ in here.
  await chmod(workDir, 0o755);
  browser = await launchBrowser('chrome');
});

after(async () => {
  await browser?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- nginx and the certificate

/** A self-signed EC certificate for localhost and 127.0.0.1: `{ cert, key, pem }`. */
function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-keyout', key, '-out', cert, '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (made.error || made.status !== 0) throw new Error(`openssl req failed: ${made.error?.message ?? made.stderr}`);
  return { cert, key, pem: readFileSync(cert) };
}

/** The nginx config tested here: docs/deploy.md §5 with a local upstream per port. */
function nginxConfig(dir, { cert, key }, servers) {
  const blocks = servers.map(({ port, upstream }, i) => `
    upstream stowage${i} {
        server 127.0.0.1:${upstream};
        keepalive 8;
    }
    server {
        listen 127.0.0.1:${port} ssl http2;
        server_name localhost 127.0.0.1;
        ssl_certificate     ${cert};
        ssl_certificate_key ${key};

        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_read_timeout 300s;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        access_log ${dir}/access-${i}.log;

        location / { proxy_pass http://stowage${i}; }
    }`);
  return `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body_temp;
    proxy_temp_path ${dir}/proxy_temp;
    fastcgi_temp_path ${dir}/fastcgi_temp;
    uwsgi_temp_path ${dir}/uwsgi_temp;
    scgi_temp_path ${dir}/scgi_temp;
${blocks.join('\n')}
}
`;
}

/** One request with Node's own client; `ca` is the certificate to trust for https. */
function send(url, { method = 'GET', headers = {}, body = null, ca } = {}) {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, { method, headers, ca, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${url}: no answer in 60 s`)));
    req.end(body);
  });
}

/**
 * Starts nginx with TLS on a free loopback port in front of each `upstream` (a devserver port).
 * Resolves `{ ports, stop }` once every port answers `GET /healthz` through the proxy.
 */
async function startNginx(dir, certificate, upstreams) {
  const bin = process.env.NGINX || which('nginx') || '/usr/sbin/nginx';
  if (!existsSync(bin)) throw new Error(`nginx not found (${bin}): scripts/setup.sh --all installs it`);
  for (let attempt = 1; ; attempt += 1) {
    const ports = [];
    for (const _ of upstreams) ports.push(await freePort());
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, nginxConfig(dir, certificate, upstreams.map((upstream, i) => ({ port: ports[i], upstream }))));
    const child = spawn(bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let exited = null;
    const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));
    child.on('error', (err) => (exited = { error: err }));
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    const stop = async () => {
      process.off('exit', killOnExit);
      if (!exited) {
        child.kill('SIGQUIT'); // graceful: workers finish, then the master exits
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(timer);
      }
      if (existsSync(join(dir, 'error.log'))) copyFileSync(join(dir, 'error.log'), join(ARTIFACTS, 'nginx-proxy-error.log'));
    };
    const deadline = Date.now() + 15_000;
    let ready = false;
    while (!exited && !ready && Date.now() < deadline) {
      const answers = await Promise.all(
        ports.map((port) => send(`https://127.0.0.1:${port}/healthz`, { ca: certificate.pem }).then((r) => r.status, () => 0)),
      );
      ready = answers.every((status) => status === 200);
      if (!ready) await sleep(100);
    }
    if (ready) return { ports, stop };
    await stop();
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
    // A port taken between asking and binding: try others.
    if (exited && attempt < 3 && /Address already in use/.test(stderr + log)) continue;
    throw new Error(`nginx did not come up (${JSON.stringify(exited)}): ${stderr}${log.slice(-2000)}`);
  }
}

// ---------------------------------------------------------------- the scenario in the page

/**
 * Writes, into a new directory, the two files the page chooses: a single upload, and a multipart
 * one of `parts` parts of `partSize` (the last one short).
 */
async function writeFiles(parent, partSize, parts) {
  const dir = await mkdtemp(join(parent, 'files-'));
  const single = { name: ODD_NAME, bytes: randomBytes(300 * KIB + 13) };
  const big = { name: `big ${ODD_NAME}`, bytes: randomBytes(partSize * (parts - 1) + 4321) };
  for (const file of [single, big]) {
    file.path = join(dir, file.name);
    await writeFile(file.path, file.bytes);
  }
  return { single, big };
}

/**
 * Runs in the page (the demo page, loaded from `origin`): every upload path of the client,
 * each download compared with the chosen file. Answers the URLs the server handed back.
 */
async function scenario({ origin, dir, partSize, appId, apiKey, unique }) {
  const mod = await import('/pkg/stowage.js');
  await mod.default();
  mod.configure({ baseUrl: origin, appId, apiKey });
  const [single, big] = document.getElementById('proxy-test-files').files;
  const same = async (blob, file) => {
    const [a, b] = [new Uint8Array(await blob.arrayBuffer()), new Uint8Array(await file.arrayBuffer())];
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  };
  const fetched = async (url) => (await fetch(url)).blob();
  const v1 = async (route, body) => {
    const res = await fetch(`${origin}/v1/files/${route}`, {
      method: 'POST',
      headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const out = { urls: {}, same: {} };
  let step = 'upload';
  try {
    out.urls.upload = await mod.upload(single, dir, false);
    out.same.upload = await same(await mod.download(out.urls.upload), single);
    out.same.uploadByPath = await same(await mod.download(`${dir}/${single.name}`), single);

    step = 'uploadMultipart';
    const multipart = await mod.uploadMultipart(big, dir, { name: `multi ${big.name}`, partSize });
    out.urls.uploadMultipart = multipart.url;
    out.same.uploadMultipart = await same(await mod.download(multipart.url), big);

    step = 'startUpload';
    const task = mod.startUpload(big, dir, { name: `task ${big.name}`, partSize });
    out.urls.startUpload = (await task.done).url;
    out.same.startUpload = await same(await mod.download(out.urls.startUpload), big);

    // By hand: the part URLs themselves.
    step = 'multipart by hand';
    const started = await mod.createMultipart(dir, `parts ${big.name}`, big.size, { partSize });
    const plan = mod.planParts(big.size, started.partSize);
    out.partCount = plan.length;
    const presigned = await mod.presignParts(started.uploadId, plan.map((p) => p.partNumber));
    out.urls.parts = presigned.map((p) => p.url);
    const parts = [];
    for (const [i, range] of plan.entries()) {
      const blob = big.slice(range.start, range.end);
      const { etag } = await mod.uploadPart(presigned[i], blob, { checksum: await mod.hashPart(blob, 'crc32c') });
      parts.push({ partNumber: range.partNumber, etag });
    }
    out.urls.completeMultipart = (await mod.completeMultipart(started.uploadId, parts)).fileURL;
    out.same.completeMultipart = await same(await mod.download(out.urls.completeMultipart), big);

    // Cognite's shape: a record and its uploadUrl, then a download link.
    step = 'createFile';
    const record = await mod.createFile({ name: `record ${single.name}`, externalId: `rec-${unique}`, mimeType: 'text/plain' });
    out.urls.uploadUrl = record.uploadUrl;
    const put = await fetch(record.uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body: single });
    out.uploadUrlStatus = put.status;
    const [link] = await mod.downloadUrls([`rec-${unique}`]);
    out.urls.downloadlink = link.downloadUrl;
    out.same.downloadlink = await same(await fetched(link.downloadUrl), single);
    const withContent = await mod.createFile({ name: `content ${single.name}`, externalId: `content-${unique}` }, single);
    out.createFileUploaded = withContent.uploaded;

    // bkend's presigned single upload and download.
    step = 'presigned upload';
    const putUrl = await v1('presigned-url', { path: dir, name: `presigned ${single.name}`, size: single.size });
    out.urls.presignedPut = putUrl.url;
    const stored = await fetch(putUrl.url, { method: putUrl.method, headers: putUrl.headers, body: single });
    out.urls.presignedFileUrl = (await stored.json()).fileURL;
    const getUrl = await v1('download-url', { path: `${dir}/presigned ${single.name}` });
    out.urls.presignedGet = getUrl.url;
    out.same.presignedGet = await same(await fetched(getUrl.url), single);

    step = 'list';
    out.urls.listed = (await mod.list(dir)).map((entry) => entry.publicUrl);
  } catch (err) {
    out.error = `${step}: ${err.name}: ${err.message}`;
  }
  return out;
}

/**
 * Loads the demo page from `origin` in a fresh context, runs the scenario, and checks what it
 * answered, every request the page made and every URL in a JSON answer: all on `origin`. Then
 * fetches each stored file from Node (over `origin`) and compares it with the file on disk.
 */
async function runScenario(t, { origin, dir, partSize, files, ca }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  const requested = [];
  const answered = [];
  page.on('request', (req) => requested.push(req.url()));
  page.on('response', (res) => {
    if ((res.headers()['content-type'] || '').includes('json')) answered.push(res.text().catch(() => ''));
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.log(`[browser console] ${msg.text()}`);
  });
  try {
    await page.goto(`${origin}/`);
    await page.locator('[data-testid="server-info"][data-state="ready"]').waitFor();
    await page.evaluate(() => {
      const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'proxy-test-files' });
      document.body.append(input);
    });
    await page.locator('#proxy-test-files').setInputFiles([files.single.path, files.big.path]);
    const tag = `${unique}-${randomBytes(2).toString('hex')}`; // external ids, one set per run
    const out = await page.evaluate(scenario, { origin, dir, partSize, appId: APP_ID, apiKey: API_KEY, unique: tag });

    // First the URLs handed back before anything failed: a wrong one is the likely cause.
    await t.test(`every URL handed back is on ${origin}`, () => {
      const urls = Object.values(out.urls).flat();
      for (const url of urls) assert.ok(url.startsWith(`${origin}/`), `${url} is not on ${origin}`);
      assert.ok(urls.length > 0, 'no URL was handed back');
    });

    await t.test('every upload path stores the bytes, read back in the page', () => {
      assert.equal(out.error, undefined);
      assert.deepEqual(out.same, Object.fromEntries(Object.keys(out.same).map((k) => [k, true])));
      assert.equal(Object.keys(out.same).length, 7);
      assert.ok(out.partCount > 2, `${out.partCount} parts`);
      assert.equal(out.urls.parts.length, out.partCount);
      assert.ok(out.uploadUrlStatus >= 200 && out.uploadUrlStatus < 300, `PUT uploadUrl: ${out.uploadUrlStatus}`);
      assert.equal(out.createFileUploaded, true);
      // 9 single URLs, one per part, and the 5 files of the folder (the records live elsewhere).
      assert.equal(out.urls.listed.length, 5);
      assert.equal(Object.values(out.urls).flat().length, 9 + out.partCount + 5);
    });

    await t.test(`every request the page made, and every URL in a JSON answer, is on ${origin}`, async () => {
      const inBodies = (await Promise.all(answered)).flatMap((text) => text.match(/https?:\/\/[^\s"'\\]+/g) ?? []);
      assert.ok(inBodies.length >= 9 + out.partCount, `${inBodies.length} URLs in JSON answers`);
      const elsewhere = [...requested.filter((url) => !url.startsWith('blob:') && !url.startsWith('data:')), ...inBodies].filter(
        (url) => !url.startsWith(`${origin}/`),
      );
      assert.deepEqual(elsewhere, []);
    });

    await t.test(`from Node, each stored file at its URL on ${origin} holds the bytes chosen`, async () => {
      const expect = [
        [out.urls.upload, files.single],
        [out.urls.uploadMultipart, files.big],
        [out.urls.startUpload, files.big],
        [out.urls.completeMultipart, files.big],
        [out.urls.presignedFileUrl, files.single],
        [out.urls.downloadlink, files.single],
      ];
      for (const [url, file] of expect) {
        const res = await send(url, { ca });
        assert.equal(res.status, 200, url);
        assert.equal(sha256(res.body), sha256(file.bytes), url);
      }
    });
  } finally {
    const { protocol, hostname } = new URL(origin);
    const shot = join(ARTIFACTS, `proxy-${protocol.replace(':', '')}-${hostname}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    await context.close();
  }
}

/** The URL of a bkend presigned PUT the server at `base` hands out for a request with `headers`. */
async function presignedUrl(base, headers, ca) {
  const res = await send(`${base}/v1/files/presigned-url`, {
    method: 'POST',
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ path: `/proxy-probe-${unique}`, name: 'probe.txt', size: 1 }),
    ca,
  });
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body).url;
}

const FORGED = { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'http', Forwarded: 'proto=http;host=evil.example' };

// ---------------------------------------------------------------- the tests

describe('behind a TLS reverse proxy (nginx)', () => {
  let trusting;
  let plain;
  let nginx;
  let certificate;
  let files;
  let origin;

  before(async () => {
    certificate = makeCertificate(workDir);
    files = await writeFiles(workDir, SMALL_PART, 6);
    trusting = await startServer({
      logFile: join(ARTIFACTS, 'devserver-proxy.log'),
      args: ['--trust-proxy', '--min-part-size', String(SMALL_PART)],
    });
    plain = await startServer({ logFile: join(ARTIFACTS, 'devserver-proxy-untrusting.log') });
    nginx = await startNginx(workDir, certificate, [trusting.port, plain.port]);
    origin = `https://127.0.0.1:${nginx.ports[0]}`;
  });

  after(async () => {
    await nginx?.stop();
    await trusting?.stop();
    await plain?.stop();
  });

  test('the client in Chromium, through https on the proxy', async (t) => {
    await runScenario(t, { origin, dir: `/proxy-tls-${unique}`, partSize: SMALL_PART, files, ca: certificate.pem });
  });

  test('a forged X-Forwarded-Host or Forwarded is not believed', async (t) => {
    await t.test('through the proxy: nginx sets the headers itself', async () => {
      const url = await presignedUrl(origin, FORGED, certificate.pem);
      assert.ok(url.startsWith(`${origin}/v1/signed/put/`), url);
    });
    await t.test('through the proxy, by a server without --trust-proxy: only Host counts', async () => {
      const proxy = `127.0.0.1:${nginx.ports[1]}`;
      const url = new URL(await presignedUrl(`https://${proxy}`, FORGED, certificate.pem));
      // The Host nginx passes on, with the scheme of the server's own listener: not https.
      assert.deepEqual([url.protocol, url.host], ['http:', proxy]);
    });
    await t.test('sent straight to a server without --trust-proxy', async () => {
      const headers = { ...FORGED, 'X-Forwarded-Proto': 'https', Forwarded: 'proto=https;host=evil.example' };
      const url = await presignedUrl(plain.url, headers);
      assert.ok(url.startsWith(`${plain.url}/v1/signed/put/`), url);
    });
    // The control: the server with --trust-proxy does read them, so the checks above are not
    // passing for want of a header path. This is why it must only run behind such a proxy.
    await t.test('sent straight to the server with --trust-proxy, they are believed', async () => {
      const forwarded = await presignedUrl(trusting.url, { Forwarded: 'proto=https;host="files.test:8443"' });
      assert.ok(forwarded.startsWith('https://files.test:8443/v1/signed/put/'), forwarded);
      const xfh = await presignedUrl(trusting.url, { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' });
      assert.ok(xfh.startsWith('https://evil.example/v1/signed/put/'), xfh);
    });
  });

  test("the page spoke HTTP/2 to the proxy, Node's client HTTP/1.1", () => {
    const log = readFileSync(join(workDir, 'access-0.log'), 'utf8');
    assert.match(log, /"GET \/pkg\/stowage_bg\.wasm HTTP\/2\.0" 200 /);
    assert.match(log, /"PUT \/v1\/signed\/parts\/[^"]* HTTP\/2\.0" 200 /);
    assert.match(log, /"POST \/v1\/files\/presigned-url HTTP\/1\.1" 200 /);
  });
});

/** This machine's non-loopback IPv4 addresses. */
function outsideAddresses() {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

describe('the server on 0.0.0.0', () => {
  let server;
  let files;

  before(async () => {
    files = await writeFiles(workDir, DEFAULT_PART, 3);
    server = await startServer({ logFile: join(ARTIFACTS, 'devserver-proxy-any.log'), listenHost: '0.0.0.0', testHooks: false });
  });

  after(async () => {
    await server?.stop();
  });

  test('the client in Chromium, from http://127.0.0.1', async (t) => {
    const origin = `http://127.0.0.1:${server.port}`;
    await runScenario(t, { origin, dir: `/any-loopback-${unique}`, partSize: DEFAULT_PART, files });
  });

  const [outside] = outsideAddresses();
  const skip = outside ? false : 'no non-loopback IPv4 address';
  test(`the client in Chromium, from this machine's address (${outside ?? 'none'})`, { skip }, async (t) => {
    const origin = `http://${outside}:${server.port}`;
    await runScenario(t, { origin, dir: `/any-outside-${unique}`, partSize: DEFAULT_PART, files });
  });
});
