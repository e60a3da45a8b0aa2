// The client inside a module Web Worker (`new Worker(url, { type: 'module' })`), in a real
// browser: tests/worker/index.html chooses real files on disk in its file inputs and posts them
// to workers running tests/worker/worker.js, which import the built package (www/pkg/) and run
// upload(), uploadMultipart() with CRC32C, startUpload(), download() and AbortSignal aborts.
// From Node the test then checks the server: the bytes stored (read back and compared), the
// CRC32C of the whole file, the part PUTs a resumed upload sent (only the missing ones), and
// that an aborted upload left no file and no staged parts.
//
// Chromium is driven by Playwright, Firefox ESR and WebKitGTK by plain W3C WebDriver
// (tests/webdriver.mjs); the page is talked to through its DOM only, so one scenario serves
// both (tests/worker/page.js). Browser: STOWAGE_BROWSER (chrome, firefox or safari; default
// chrome).
//
// Server: its own, always: a built target/release/stowage-devserver with `--min-part-size` of
// 256 KiB (multipart files of a few MiB) and its test hooks, whose fault rules and part counters
// no other test touches meanwhile. It serves a temporary directory that links `pkg/` to www/pkg
// and `worker/` to tests/worker. The log goes to tests/artifacts/devserver-worker-ENGINE.log.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENGINES, launchBrowser } from './engines.mjs';
import { ADMIN_KEY, API_KEY, APP_ID, ARTIFACTS, ROOT, startServer } from './server.mjs';
import { Session, startDriver } from './webdriver.mjs';

const ENGINE = process.env.STOWAGE_BROWSER || 'chrome';
const KIB = 1024;
const MIB = 1024 * KIB;
/** The server's smallest part, and the part size every multipart upload here asks for. */
const PART = 256 * KIB;
const unique = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const DIR = `/worker-test-${ENGINE}-${unique}`;
/** The files the test writes and the page chooses: input id -> size. */
const FILES = {
  single: 3 * MIB + 4321,
  parts: 6 * PART + 1000, // 7 parts
  resume: 8 * PART + 4321, // 9 parts
  abort: 6 * PART, // 6 parts
};
const MULTIPART = { partSize: PART, checksum: 'crc32c' };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

let server;
let workDir;
let browser; // { execute, choose, screenshot, close }
const files = {}; // input id -> { path, name, bytes }

// ---------------------------------------------------------------- the browser, either way

/** Playwright's page for Chromium: the same three calls as the WebDriver session below. */
async function playwrightBrowser() {
  const launched = await launchBrowser(ENGINE);
  const page = await (await launched.newContext()).newPage();
  page.setDefaultTimeout(30_000);
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.log(`[browser console] ${msg.text()}`);
  });
  return {
    version: `${ENGINE} ${launched.version()}`,
    navigate: (url) => page.goto(url),
    execute: (body, ...args) => page.evaluate(([b, a]) => Function(b).apply(null, a), [body, args]),
    choose: (css, path) => page.locator(css).setInputFiles(path),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    close: () => launched.close(),
  };
}

/** A WebDriver session (geckodriver, WebKitWebDriver) with a driver process of its own. */
async function webdriverBrowser(engine) {
  const driver = await startDriver({ ...engine.page.driver(), logFile: join(ARTIFACTS, `webdriver-worker-${ENGINE}.log`) });
  let s;
  try {
    s = await Session.create(driver.url, engine.page.capabilities());
    await s.timeouts({ script: 60_000, pageLoad: 60_000, implicit: 0 });
  } catch (err) {
    await driver.stop();
    throw err;
  }
  const { browserName, browserVersion } = s.capabilities;
  return {
    version: `${browserName} ${browserVersion}`,
    navigate: (url) => s.navigate(url),
    execute: (body, ...args) => s.execute(body, ...args),
    // Element Send Keys on `<input type=file>` takes a local file path.
    choose: async (css, path) => s.sendKeys(await s.find(css), path),
    screenshot: (path) => s.screenshot(path),
    close: async () => {
      await s.close().catch(() => {});
      await driver.stop();
    },
  };
}

// ---------------------------------------------------------------- the page's commands

let nextCommand = 1;

/** Appends a command for tests/worker/page.js; answers its id (see `answer`, `startedUpload`). */
async function send(command) {
  const id = nextCommand;
  nextCommand += 1;
  await browser.execute(
    `const t = document.createElement('template');
     t.dataset.id = arguments[0];
     t.dataset.command = arguments[1];
     document.getElementById('commands').append(t);`,
    String(id),
    JSON.stringify(command),
  );
  return id;
}

/** Polls until `body` (a script answering a value or null) answers non-null. */
async function poll(what, body, args, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await browser.execute(body, ...args);
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/** Waits for command `id`'s answer; throws what the page threw. */
async function answer(id, timeoutMs = 120_000) {
  const text = await poll(
    `the answer to command ${id}`,
    `return document.querySelector('#commands > [data-id="' + arguments[0] + '"]')?.dataset.answer ?? null;`,
    [String(id)],
    timeoutMs,
  );
  const parsed = JSON.parse(text);
  if (parsed.thrown) throw new Error(`the page threw: ${parsed.thrown}`);
  return parsed.ok;
}

/** Sends a command and waits for its answer. */
const command = async (fields, timeoutMs) => answer(await send(fields), timeoutMs);

/** Runs `operation` in worker `name`; answers the worker's answer (`type`, `value`, `progress`). */
const inWorker = (name, operation, { input, args = {} } = {}) => ({ op: 'run', name, operation, input, args });

/** The upload id a running `startUpload` command has announced. */
const startedUpload = (id) =>
  poll(
    `command ${id} to start its upload`,
    `return document.querySelector('#commands > [data-id="' + arguments[0] + '"]')?.dataset.started ?? null;`,
    [String(id)],
    30_000,
  );

/** A worker answer that must be a result: answers its value. */
function resultOf(reply) {
  assert.equal(reply.type, 'result', `the worker answered ${JSON.stringify(reply)}`);
  return reply.value;
}

// ---------------------------------------------------------------- the server, from Node

/** A request to the server with the app's admin key (the test hooks and any upload's parts). */
async function admin(method, path, body) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      'X-API-Key': API_KEY,
      Authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** Replaces the server's part fault rules and zeroes its part counters. */
async function faults(rules) {
  const { status, json } = await admin('POST', '/v1/test/faults', { rules });
  assert.equal(status, 200, `the test hooks answered ${status}: ${JSON.stringify(json)}`);
}

const partPuts = async () => (await admin('GET', '/v1/test/stats')).json;
const uploadStatus = (uploadId) => admin('GET', `/v1/files/multipart/${encodeURIComponent(uploadId)}`);

/** The bytes at a file URL, or the status when it is not 200. */
async function stored(url) {
  const response = await fetch(url);
  const bytes = Buffer.from(await response.arrayBuffer());
  return response.status === 200 ? { bytes } : { status: response.status };
}

const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

/** CRC32C (Castagnoli) of `bytes` as the server reports it: base64 of the big-endian value. */
function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

/** Progress as forwarded: non-empty, never backwards, ending at `(total, total)`. */
function assertProgress(progress, total) {
  assert.ok(progress.length > 0, 'no progress reached the page');
  for (let i = 1; i < progress.length; i += 1) {
    assert.ok(progress[i][0] >= progress[i - 1][0], `progress went backwards: ${JSON.stringify(progress)}`);
  }
  assert.ok(progress.every(([, t]) => t === total), `a report with another total: ${JSON.stringify(progress)}`);
  assert.deepEqual(progress.at(-1), [total, total], 'the last report is (total, total)');
}

// ---------------------------------------------------------------- set-up

before(async () => {
  const engine = ENGINES[ENGINE];
  assert.ok(engine, `unknown engine ${ENGINE}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  workDir = await mkdtemp(join(tmpdir(), 'stowage-worker-'));
  const www = join(workDir, 'www');
  mkdirSync(www);
  symlinkSync(join(ROOT, 'www', 'pkg'), join(www, 'pkg'));
  symlinkSync(join(ROOT, 'tests', 'worker'), join(www, 'worker'));
  for (const [input, size] of Object.entries(FILES)) {
    const name = `${input}-${unique}.bin`;
    const bytes = randomBytes(size);
    const path = join(workDir, name);
    await writeFile(path, bytes);
    files[input] = { path, name, bytes };
  }
  server = await startServer({
    www,
    logFile: join(ARTIFACTS, `devserver-worker-${ENGINE}.log`),
    args: ['--min-part-size', String(PART)],
  });
  browser = engine.page.kind === 'playwright' ? await playwrightBrowser() : await webdriverBrowser(engine);
  console.log(`# ${ENGINE}: ${browser.version}`);
  await browser.navigate(`${server.url}/worker/index.html?app=${APP_ID}&key=${API_KEY}`);
  await poll('the page to load', 'return document.body?.dataset.ready ?? null;', [], 30_000);
  for (const [input, { path }] of Object.entries(files)) await browser.choose(`#${input}`, path);
});

after(async () => {
  if (browser) {
    await browser.screenshot(join(ARTIFACTS, `worker-end-${ENGINE}.png`)).catch(() => {});
    await browser.close().catch(() => {});
  }
  await server?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the scenario

test(`the client in a module worker in ${ENGINE}`, async (t) => {
  await t.test('runs in a dedicated worker scope, with no window or document', async () => {
    const scope = resultOf(await command({ op: 'spawn', name: 'main' }));
    assert.deepEqual(
      { scope: scope.scope, hasWindow: scope.hasWindow, hasDocument: scope.hasDocument },
      { scope: 'DedicatedWorkerGlobalScope', hasWindow: false, hasDocument: false },
    );
    console.log(`# worker user agent: ${scope.userAgent}`);
  });

  let singleUrl;
  await t.test('upload() of a File posted from the page stores its bytes, progress forwarded', async () => {
    const reply = await command(inWorker('main', 'upload', { input: '#single', args: { dir: DIR } }));
    singleUrl = resultOf(reply);
    assert.ok(singleUrl.endsWith(`${DIR}/${files.single.name}`), `upload resolved with ${singleUrl}`);
    assertProgress(reply.progress, FILES.single);
    const got = await stored(singleUrl);
    assert.equal(got.status, undefined, `GET ${singleUrl} answered ${got.status}`);
    assert.ok(got.bytes.equals(files.single.bytes), 'the stored bytes differ from the file');
  });

  let partsUrl;
  await t.test('uploadMultipart() sends 7 parts with CRC32C, 3 at a time', async () => {
    // Each part waits 100 ms on the server, so parts in flight at once can be counted.
    await faults([{ nth: 0, kind: 'delay', ms: 100 }]);
    const options = { ...MULTIPART, concurrency: 3 };
    const reply = await command(inWorker('main', 'uploadMultipart', { input: '#parts', args: { dir: DIR, options } }));
    const result = resultOf(reply);
    partsUrl = result.url;
    const counters = await partPuts();
    await faults([]);
    assert.equal(result.size, FILES.parts);
    assert.equal(result.checksum, crc32c(files.parts.bytes), 'the whole-file CRC32C');
    assert.equal(counters.partPuts, 7, `part PUTs: ${JSON.stringify(counters)}`);
    assert.ok(counters.maxPartsInFlight >= 2 && counters.maxPartsInFlight <= 3, `parts at once: ${JSON.stringify(counters)}`);
    assertProgress(reply.progress, FILES.parts);
    const got = await stored(partsUrl);
    assert.equal(got.status, undefined, `GET ${partsUrl} answered ${got.status}`);
    assert.ok(got.bytes.equals(files.parts.bytes), 'the stored bytes differ from the file');
  });

  await t.test('download() in the worker hands the page a Blob of the same bytes', async () => {
    for (const [url, file] of [
      [partsUrl, files.parts],
      [singleUrl, files.single],
    ]) {
      const reply = await command(inWorker('main', 'download', { args: { path: url } }));
      const blob = resultOf(reply);
      assert.deepEqual(
        { blob: blob.blob, size: blob.size, sha256: blob.sha256 },
        { blob: true, size: file.bytes.length, sha256: sha256(file.bytes) },
        `download of ${url}`,
      );
      assertProgress(reply.progress, file.bytes.length);
    }
  });

  await t.test('saveAs() in a worker rejects with a ClientError: there is no page to save from', async () => {
    const reply = await command(inWorker('main', 'saveAs', { args: { path: singleUrl } }));
    assert.equal(reply.type, 'error', `saveAs answered ${JSON.stringify(reply)}`);
    assert.deepEqual(
      { name: reply.error.name, code: reply.error.code, status: reply.error.status },
      { name: 'ClientError', code: 0, status: 0 },
      reply.error.message,
    );
  });

  await t.test('a new worker resumes a terminated one’s upload from the IndexedDB journal', async () => {
    const partCount = Math.ceil(FILES.resume / PART);
    // Slow parts (200 ms each, one at a time), so the first worker is stopped mid-way.
    await faults([{ nth: 0, kind: 'delay', ms: 200 }]);
    await command({ op: 'spawn', name: 'first' });
    const running = await send(
      inWorker('first', 'startUpload', { input: '#resume', args: { dir: DIR, options: { ...MULTIPART, concurrency: 1 } } }),
    );
    const uploadId = await startedUpload(running);
    const deadline = Date.now() + 30_000;
    while ((await uploadStatus(uploadId)).json?.parts?.length < 3) {
      assert.ok(Date.now() < deadline, 'the first worker stored no 3 parts in 30 s');
      await sleep(20);
    }
    await command({ op: 'terminate', name: 'first' });
    const cut = await answer(running);
    assert.equal(cut.type, 'terminated', `the first worker ended before it was stopped: ${JSON.stringify(cut)}`);
    // A part whose bytes had all left may still land: count once the server has settled.
    await sleep(800);
    const before = await uploadStatus(uploadId);
    assert.equal(before.status, 200, JSON.stringify(before.json));
    const held = before.json.parts.map((p) => p.partNumber);
    assert.ok(held.length >= 3 && held.length < partCount, `parts held after the stop: ${held}`);
    const journal = await command({ op: 'journal' });
    assert.ok(
      journal.records.some((r) => r.uploadId === uploadId),
      `the journal names the upload: ${JSON.stringify(journal)}`,
    );

    await faults([]); // zeroes the part counters
    await command({ op: 'spawn', name: 'second' });
    const reply = await command(
      inWorker('second', 'uploadMultipart', { input: '#resume', args: { dir: DIR, options: { ...MULTIPART, concurrency: 1 } } }),
    );
    const result = resultOf(reply);
    const counters = await partPuts();
    assert.equal(counters.partPuts, partCount - held.length, `only the missing parts travel: held ${held}, ${JSON.stringify(counters)}`);
    console.log(`# resume: ${held.length} of ${partCount} parts held after the stop; the second worker sent ${counters.partPuts}`);
    const after = await uploadStatus(uploadId);
    assert.equal(after.json?.completed?.size, FILES.resume, `the first worker's upload is the one completed: ${JSON.stringify(after.json)}`);
    assert.equal(result.size, FILES.resume);
    assert.equal(result.checksum, crc32c(files.resume.bytes), 'the whole-file CRC32C');
    assertProgress(reply.progress, FILES.resume);
    assert.ok(reply.progress[0][0] >= PART, `the resumed run starts from the parts held: ${JSON.stringify(reply.progress[0])}`);
    const got = await stored(result.url);
    assert.equal(got.status, undefined, `GET ${result.url} answered ${got.status}`);
    assert.ok(got.bytes.equals(files.resume.bytes), 'the stored bytes differ from the file');
    const left = await command({ op: 'journal' });
    assert.ok(!left.records.some((r) => r.uploadId === uploadId), 'a finished upload stays in the journal');
  });

  await t.test('an AbortSignal in the worker aborts upload() and nothing is stored', async () => {
    const name = `aborted-${unique}.bin`;
    const reply = await command(inWorker('main', 'abortUpload', { args: { dir: DIR, name, sizeMiB: 256 } }), 180_000);
    const outcome = resultOf(reply);
    assert.equal(outcome.finished, undefined, `the upload finished before it could be aborted; progress ${JSON.stringify(outcome.seen)}`);
    const { name: errorName, code, status } = outcome.rejected;
    assert.deepEqual({ errorName, code, status }, { errorName: 'AbortError', code: 0, status: 0 }, outcome.rejected.message);
    assert.ok(outcome.seen.every(([loaded, total]) => loaded < total), JSON.stringify(outcome.seen));
    assert.equal((await stored(outcome.url)).status, 404, 'an aborted upload stored a file');
    // Again once the server has surely seen the connection end.
    await sleep(500);
    assert.equal((await stored(outcome.url)).status, 404, 'an aborted upload stored a file');
  });

  await t.test('an AbortSignal in the worker aborts a multipart upload and its parts are removed', async () => {
    await faults([{ nth: 0, kind: 'delay', ms: 200 }]);
    const options = { ...MULTIPART, concurrency: 1 };
    const reply = await command(inWorker('main', 'abortMultipart', { input: '#abort', args: { dir: DIR, options } }));
    await faults([]);
    const outcome = resultOf(reply);
    assert.equal(outcome.finished, undefined, 'the upload finished before it could be aborted');
    assert.equal(outcome.rejected.name, 'AbortError', outcome.rejected.message);
    assert.equal(outcome.state, 'aborted');
    const status = await uploadStatus(outcome.uploadId);
    assert.equal(status.json?.code, 7004, `the upload is gone on the server: ${JSON.stringify(status)}`);
    assert.equal((await stored(outcome.url)).status, 404, 'an aborted upload stored a file');
    const journal = await command({ op: 'journal' });
    assert.ok(!journal.records.some((r) => r.uploadId === outcome.uploadId), 'an aborted upload stays in the journal');
  });

  await t.test('no uncaught errors in the page or its workers', async () => {
    assert.deepEqual(await command({ op: 'errors' }), []);
  });
});
