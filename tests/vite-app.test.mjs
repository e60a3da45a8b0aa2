// The package as a web developer gets it: `npm pack` of www/pkg, installed with vite (the version
// pinned in the root package.json) into a fresh app in a temporary directory, `vite build`, the
// built `dist/` served from another origin than the server, and headless Chromium opening it. The
// app's own code (written below, as a developer would) awaits `init()`, configures the client,
// uploads a 3 MiB File of random bytes built in the page under a non-ASCII name, downloads it back
// and compares. The test checks the tarball's contents and package.json, that the wasm module is
// an emitted asset of the build (the same bytes as www/pkg's) and was fetched from there, the
// returned URL, the bytes downloaded in the page, and the bytes a plain GET of the URL answers.
//
// Needs the built package (`scripts/build-wasm.sh`) and target/release/stowage-devserver; it
// starts its own server, with `--cors-origin` set to the app's origin only. npm installs from its
// cache when it can (`--prefer-offline`), from the registry otherwise.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { launchBrowser } from './engines.mjs';
import { API_KEY, APP_ID, ARTIFACTS, ROOT, startServer } from './server.mjs';

const PKG = join(ROOT, 'www', 'pkg');
const VITE = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).devDependencies?.vite;
const unique = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const FOLDER = `vite-app-${unique}`;
/** Non-ASCII in several scripts, a space and a dash: all of it must survive the URL round trip. */
const FILE_NAME = `Grüße 日本語 — ünïcødé ${unique}.bin`;
const SIZE = 3 * 1024 * 1024 + 1234;
/** What the tarball must hold (npm adds package.json; README and licences from package-npm.mjs). */
const PACKED = ['LICENSE-APACHE', 'LICENSE-MIT', 'README.md', 'package.json', 'stowage.d.ts', 'stowage.js', 'stowage_bg.wasm'];

const run = promisify(execFile);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let workDir;
let appDir;
let packed; // npm pack --json's entry for the tarball
let staticServer;
let appUrl;
const served = []; // { path, status, type } of each request the app's origin answered
let devserver;
let browser;
let page;
const pageErrors = [];

/** npm in `cwd`, without the `npm_*` variables of an `npm test` that may have started us. */
function npm(args, cwd) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return run('npm', args, { cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: 5 * 60_000 });
}

// The app: what a developer writes. The page reads the server and the file name from its query.
const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><link rel="icon" href="data:,"><title>stowage from npm</title></head>
  <body>
    <p id="state">starting</p>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;

const MAIN_JS = `import init, { configure, upload, download } from 'stowage';

const params = new URLSearchParams(location.search);

async function hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function main() {
  await init();
  configure({ baseUrl: params.get('server'), appId: params.get('app'), apiKey: params.get('key') });

  const bytes = new Uint8Array(Number(params.get('size')));
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  const file = new File([bytes], params.get('name'), { type: 'application/octet-stream' });
  const url = await upload(file, params.get('folder'), false);

  const back = new Uint8Array(await (await download(url)).arrayBuffer());
  let firstDifference = back.length === bytes.length ? -1 : Math.min(back.length, bytes.length);
  for (let i = 0; i < Math.min(back.length, bytes.length); i += 1) {
    if (back[i] !== bytes[i]) {
      firstDifference = i;
      break;
    }
  }
  return { url, size: bytes.length, sha256: await hex(bytes), downloadedSize: back.length, downloadedSha256: await hex(back), firstDifference };
}

main().then(
  (result) => {
    window.stowageResult = { ok: true, ...result };
    document.getElementById('state').textContent = 'done';
  },
  (error) => {
    window.stowageResult = { ok: false, name: error?.name, code: error?.code, message: String(error?.message ?? error) };
    document.getElementById('state').textContent = 'failed';
  },
);
`;

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** A static file server over `dir` on a free port of 127.0.0.1; logs each request in `served`. */
function serveStatic(dir) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    let status = 200;
    let body;
    if (!file.startsWith(dir + sep)) status = 403;
    else body = await readFile(file).catch(() => null);
    if (status === 200 && !body) status = 404;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    served.push({ path, status, type });
    res.writeHead(status, { 'content-type': status === 200 ? type : 'text/plain' });
    res.end(status === 200 ? body : String(status));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  assert.ok(VITE, 'the root package.json pins no vite devDependency');
  assert.ok(existsSync(join(PKG, 'stowage_bg.wasm')), `${PKG} is not built: run scripts/build-wasm.sh`);
  workDir = await mkdtemp(join(tmpdir(), 'stowage-vite-'));

  const { stdout } = await npm(['pack', PKG, '--pack-destination', workDir, '--json', '--loglevel=error'], workDir);
  [packed] = JSON.parse(stdout);

  appDir = join(workDir, 'app');
  mkdirSync(appDir);
  const appPackage = {
    name: 'stowage-vite-app',
    private: true,
    type: 'module',
    scripts: { build: 'vite build' },
    dependencies: { stowage: `file:${join(workDir, packed.filename)}` },
    devDependencies: { vite: VITE },
  };
  await writeFile(join(appDir, 'package.json'), `${JSON.stringify(appPackage, null, 2)}\n`);
  await writeFile(join(appDir, 'index.html'), INDEX_HTML);
  await writeFile(join(appDir, 'main.js'), MAIN_JS);
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], appDir);
  const built = await npm(['run', 'build'], appDir);
  console.log(built.stdout.trim());

  const dist = join(appDir, 'dist');
  staticServer = await serveStatic(dist);
  appUrl = `http://127.0.0.1:${staticServer.address().port}`;
  devserver = await startServer({ logFile: join(ARTIFACTS, 'devserver-vite-app.log'), args: ['--cors-origin', appUrl] });

  browser = await launchBrowser('chrome');
  page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.log(`[browser console] ${msg.text()}`);
  });
});

after(async () => {
  if (page) await page.screenshot({ path: join(ARTIFACTS, 'vite-app.png') }).catch(() => {});
  await browser?.close();
  await devserver?.stop();
  await new Promise((resolve) => (staticServer ? staticServer.close(resolve) : resolve()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

test('the packed package', async (t) => {
  await t.test('holds the code, its types, the wasm module, README and licences', () => {
    assert.equal(packed.name, 'stowage');
    assert.deepEqual(packed.files.map((f) => f.path).sort(), PACKED);
  });

  await t.test('installs with a package.json a bundler and TypeScript can use', async () => {
    const installed = JSON.parse(await readFile(join(appDir, 'node_modules', 'stowage', 'package.json'), 'utf8'));
    const crate = await readFile(join(ROOT, 'Cargo.toml'), 'utf8');
    const version = crate.match(/\[workspace\.package\][^[]*?\nversion = "([^"]+)"/)?.[1];
    assert.equal(installed.version, version, 'version is not the workspace version of Cargo.toml');
    assert.equal(installed.license, 'MIT OR Apache-2.0');
    assert.equal(installed.type, 'module');
    assert.equal(installed.types, './stowage.d.ts');
    assert.deepEqual(installed.exports, {
      '.': { types: './stowage.d.ts', default: './stowage.js' },
      './stowage_bg.wasm': './stowage_bg.wasm',
      './package.json': './package.json',
    });
    for (const name of ['stowage.js', 'stowage.d.ts', 'stowage_bg.wasm', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE']) {
      assert.ok(existsSync(join(appDir, 'node_modules', 'stowage', name)), `${name} is not installed`);
    }
  });
});

test('a Vite app built on the package, in Chromium', async (t) => {
  const wasm = await readFile(join(PKG, 'stowage_bg.wasm'));
  let assetName;

  await t.test('vite build emits the wasm module as an asset', async () => {
    const assets = await readdir(join(appDir, 'dist', 'assets'));
    const modules = assets.filter((name) => name.endsWith('.wasm'));
    assert.equal(modules.length, 1, `wasm assets in dist/assets: ${modules.join(', ') || 'none'}`);
    [assetName] = modules;
    assert.equal(sha256(await readFile(join(appDir, 'dist', 'assets', assetName))), sha256(wasm), 'the emitted module is not www/pkg/stowage_bg.wasm');
    const scripts = assets.filter((name) => name.endsWith('.js'));
    const sources = await Promise.all(scripts.map((name) => readFile(join(appDir, 'dist', 'assets', name), 'utf8')));
    assert.ok(sources.some((source) => source.includes(assetName)), `no built script names ${assetName}`);
  });

  await t.test('uploads a File made in the page and downloads the same bytes', async () => {
    const query = new URLSearchParams({ server: devserver.url, app: APP_ID, key: API_KEY, folder: FOLDER, name: FILE_NAME, size: String(SIZE) });
    await page.goto(`${appUrl}/?${query}`);
    await page.waitForFunction(() => window.stowageResult, null, { timeout: 120_000 });
    const result = await page.evaluate(() => window.stowageResult);
    assert.equal(result.ok, true, `the app failed: ${JSON.stringify(result)}`);
    assert.deepEqual(pageErrors, []);
    assert.ok(
      served.some((r) => r.path === `/assets/${assetName}` && r.status === 200 && r.type === 'application/wasm'),
      `the page did not fetch /assets/${assetName}: ${JSON.stringify(served)}`,
    );

    const prefix = `${devserver.url}/${APP_ID}/${API_KEY}/files/${FOLDER}/`;
    assert.ok(result.url.startsWith(prefix), `upload answered ${result.url}, not under ${prefix}`);
    assert.equal(decodeURIComponent(result.url.slice(prefix.length)), FILE_NAME);
    assert.equal(result.size, SIZE);
    assert.equal(result.downloadedSize, SIZE);
    assert.equal(result.firstDifference, -1, `downloaded bytes differ from byte ${result.firstDifference}`);
    assert.equal(result.downloadedSha256, result.sha256);

    // The server holds it: a plain GET of the URL (not through the client) gives the same bytes.
    const response = await fetch(result.url);
    assert.equal(response.status, 200);
    const stored = Buffer.from(await response.arrayBuffer());
    assert.equal(stored.length, SIZE);
    assert.equal(sha256(stored), result.sha256, 'the bytes at the URL are not the bytes uploaded');
  });
});
