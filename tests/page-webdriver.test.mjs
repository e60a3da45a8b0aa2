// The demo page (www/) used as a person would, driven through plain W3C WebDriver: the same
// scenario as page.test.mjs (Playwright), for the engines Playwright cannot drive here, Firefox
// ESR (geckodriver) and WebKitGTK (WebKitWebDriver under xvfb-run); see docs/browsers.md.
// Make a folder, upload a 3 MiB file through the file input, watch its progress, download it
// back and compare bytes, hit the "name taken" error, replace, rename, move and delete; then the
// file-backed upload checks of file-backed.mjs.
//
// Server: STOWAGE_TEST_SERVER (set by tests/run.mjs); when unset this file starts the built
// target/release/stowage-devserver itself. Browser: STOWAGE_BROWSER (firefox or safari; default
// firefox). Screenshots and the driver's log go to tests/artifacts/.
//
// WebDriver has no download API, so the download check catches what the page's saveAs hands the
// browser (the `<a download>` click on a blob: URL) and hashes those bytes in the page.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENGINES } from './engines.mjs';
import { assertPast4Gib, assertSlices, checkArgs, inPageChecks, makeSparseFile } from './file-backed.mjs';
import { ARTIFACTS, startServer } from './server.mjs';
import { Session, startDriver } from './webdriver.mjs';

const ENGINE = process.env.STOWAGE_BROWSER || 'firefox';
const SIZE = 3 * 1024 * 1024 + 4321;
const TAKEN = "A file with that name already exists here. Turn on 'Replace existing files' to overwrite.";
const unique = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const FOLDER = `page-test-${unique}`;

let ownServer;
let serverUrl;
let driver;
let s; // the WebDriver session
let workDir;
let samplePath;
let sampleBytes;
let sparsePath;

before(async () => {
  const engine = ENGINES[ENGINE];
  assert.ok(engine, `unknown engine ${ENGINE}`);
  assert.equal(engine.page.kind, 'webdriver', `${ENGINE}: its page test is page.test.mjs (Playwright)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  serverUrl = process.env.STOWAGE_TEST_SERVER;
  if (!serverUrl) {
    ownServer = await startServer();
    serverUrl = ownServer.url;
  }
  workDir = await mkdtemp(join(tmpdir(), 'stowage-page-'));
  sampleBytes = randomBytes(SIZE);
  samplePath = join(workDir, `sample-${unique}.bin`);
  await writeFile(samplePath, sampleBytes);
  sparsePath = join(workDir, `sparse-${unique}.bin`);
  await makeSparseFile(sparsePath);

  driver = await startDriver({ ...engine.page.driver(), logFile: join(ARTIFACTS, `webdriver-${ENGINE}.log`) });
  s = await Session.create(driver.url, engine.page.capabilities());
  const { browserName, browserVersion } = s.capabilities;
  console.log(`# ${ENGINE}: ${browserName} ${browserVersion}`);
  await s.timeouts({ script: 180_000, pageLoad: 60_000, implicit: 0 });
  await s.cmd('POST', '/window/rect', { width: 1100, height: 900 }).catch(() => {}); // not every driver can
});

after(async () => {
  if (s) {
    await s.screenshot(join(ARTIFACTS, `page-end-${ENGINE}.png`)).catch(() => {});
    await s.close().catch(() => {});
  }
  await driver?.stop();
  await ownServer?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const fileName = () => basename(samplePath);
const attr = (value) => JSON.stringify(value); // a quoted CSS attribute value
const rowSelector = (name, kind) => `[data-testid="entry"][data-name=${attr(name)}][data-kind="${kind}"]`;
const inRow = (name, kind, testid) => `${rowSelector(name, kind)} [data-testid="${testid}"]`;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Waits until an element matching `css` is in the page (`present`) or gone (`!present`). */
function waitForElement(css, present = true, timeoutMs = 30_000) {
  return s.waitFor(
    `${css} to be ${present ? 'there' : 'gone'}`,
    'return (document.querySelector(arguments[0]) !== null) === arguments[1];',
    [css, present],
    { timeoutMs },
  );
}

const text = (css) => s.execute('return document.querySelector(arguments[0]).textContent.trim();', css);

/**
 * Finds and clicks the element matching `css`. The listing redraws its rows after each change,
 * so a row found a moment ago may be gone by the click (`stale element reference`): find it
 * again, as Playwright's locators do.
 */
async function clickOn(css, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await s.click(await s.find(css));
      return;
    } catch (err) {
      const retry = ['stale element reference', 'no such element'].includes(err.error);
      if (!retry || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Clicks the element, then answers the open `prompt()`/`confirm()` (typing `answer` if given). */
async function clickAndAnswer(css, answer) {
  await clickOn(css);
  // Only dialog commands until it is answered: with the default prompt handling, any other
  // command would dismiss it.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await s.alertText();
      break;
    } catch (err) {
      if (err.error !== 'no such alert' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await s.acceptAlert(answer);
}

/** Waits until the `index`-th upload of the sample file is over; answers its state and status text. */
async function finishedUpload(index) {
  return s.waitFor(
    `upload ${index} of ${fileName()} to end`,
    `const item = document.querySelectorAll(arguments[0])[arguments[1]];
     if (!item || !['done', 'error', 'cancelled'].includes(item.dataset.state)) return null;
     const bar = item.querySelector('[data-testid="upload-progress"]');
     return {
       state: item.dataset.state,
       status: item.querySelector('[data-testid="upload-status"]').textContent.trim(),
       bar: { value: bar.value, max: bar.max },
     };`,
    [`[data-testid="upload-item"][data-file=${attr(fileName())}]`, index],
    { timeoutMs: 120_000 },
  );
}

/**
 * Runs one of file-backed.mjs's in-page checks on the file chosen in a file input of its own.
 * The check runs as a module script of the page, not as a WebDriver script: Firefox runs those
 * in a sandbox whose objects are not the page's (docs/browsers.md), and the client must be
 * tested as pages use it.
 */
async function fileBackedCheck(check, path) {
  const id = `file-backed-${check}`;
  const key = `fileBacked${check.replace(/\W/g, '')}`; // where the answer lands: document.body.dataset
  await s.execute(
    `const input = document.createElement('input');
     input.type = 'file';
     input.id = arguments[0];
     input.hidden = true;
     document.body.append(input);`,
    id,
  );
  await s.sendKeys(await s.find(`#${id}`), path);
  const args = checkArgs(check, { input: `#${id}`, dir: `/${FOLDER}-file-backed`, serverUrl });
  const source = `const check = ${inPageChecks.toString()};
    const report = (answer) => { document.body.dataset[${JSON.stringify(key)}] = JSON.stringify(answer); };
    check(${JSON.stringify(args)}).then(report, (err) => report({ thrown: String(err) }));`;
  await s.execute(
    `const script = document.createElement('script');
     script.type = 'module';
     script.textContent = arguments[0];
     document.head.append(script);`,
    source,
  );
  const answer = JSON.parse(
    await s.waitFor(`the ${check} check`, 'return document.body.dataset[arguments[0]] || null;', [key], {
      timeoutMs: 180_000,
    }),
  );
  assert.equal(answer.thrown, undefined, answer.thrown);
  return answer;
}

test(`the demo page in ${ENGINE} (WebDriver)`, async (t) => {
  await t.test('connects to the server', async () => {
    await s.navigate(`${serverUrl}/`);
    await s.execute(`window.pageErrors = [];
      addEventListener('error', (e) => pageErrors.push(String(e.message)));
      addEventListener('unhandledrejection', (e) => pageErrors.push(String(e.reason)));`);
    await waitForElement('[data-testid="server-info"][data-state="ready"]');
    assert.match(await text('[data-testid="server-info"]'), /server \d+\.\d+\.\d+/);
    assert.equal(await text('[data-testid="current-dir"]'), 'Top folder');
  });

  await t.test('creates a folder and opens it', async () => {
    await s.sendKeys(await s.find('#mkdir-name'), FOLDER);
    await clickOn('[data-testid="mkdir-submit"]');
    await waitForElement(inRow(FOLDER, 'dir', 'open-dir'));
    await clickOn(inRow(FOLDER, 'dir', 'open-dir'));
    await s.waitFor('the folder to open', `return document.querySelector('[data-testid="current-dir"]')?.textContent === arguments[0];`, [FOLDER]);
    assert.equal(await text('#upload-dir'), `/${FOLDER}`);
    await s.waitFor('the empty listing', `return !document.querySelector('[data-testid="empty"]').hidden;`);
  });

  await t.test('uploads a chosen file with byte progress', async () => {
    await s.execute(`window.progressSeen = [];
      new MutationObserver((records) => {
        for (const r of records) window.progressSeen.push(Number(r.target.dataset.loaded));
      }).observe(document.getElementById('uploads'), { subtree: true, attributes: true, attributeFilter: ['data-loaded'] });`);
    await s.sendKeys(await s.find('[data-testid="file-input"]'), samplePath);
    const upload = await finishedUpload(0);
    assert.deepEqual(upload, { state: 'done', status: 'Done', bar: { value: upload.bar.max, max: upload.bar.max } });
    const seen = await s.execute('return window.progressSeen;');
    assert.ok(seen.length > 0, 'onProgress was never called');
    assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]), `progress went backwards: ${seen}`);
    assert.ok(seen.at(-1) >= SIZE, `last progress ${seen.at(-1)} < ${SIZE}`);
  });

  await t.test('lists the uploaded file', async () => {
    await waitForElement(rowSelector(fileName(), 'file'));
    assert.equal(await text(inRow(fileName(), 'file', 'entry-size')), '3.0 MiB');
  });

  await t.test('downloads the same bytes (saveAs and the listed URL)', async () => {
    await s.execute(`window.saves = [];
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () {
        if (!this.download || !this.href.startsWith('blob:')) return click.call(this);
        const save = { name: this.download };
        window.saves.push(save);
        fetch(this.href)
          .then((r) => r.arrayBuffer())
          .then(async (buffer) => {
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
            save.size = buffer.byteLength;
            save.sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
          })
          .catch((err) => { save.error = String(err); });
      };`);
    await clickOn(inRow(fileName(), 'file', 'download'));
    const save = await s.waitFor('saveAs to hand over the file', 'const s = window.saves[0]; return s && (s.sha256 || s.error) ? s : null;');
    assert.deepEqual(save, { name: fileName(), size: SIZE, sha256: sha256(sampleBytes) });

    const href = await s.execute('return document.querySelector(arguments[0]).href;', inRow(fileName(), 'file', 'entry-link'));
    const response = await fetch(href);
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(sampleBytes), 'bytes at the listed URL differ');
  });

  await t.test('says in plain words that the name is taken', async () => {
    assert.equal(await s.execute(`return document.getElementById('overwrite').checked;`), false);
    await s.sendKeys(await s.find('[data-testid="file-input"]'), samplePath);
    const upload = await finishedUpload(1);
    assert.equal(upload.state, 'error');
    assert.equal(upload.status, TAKEN);
    await s.screenshot(join(ARTIFACTS, `page-${ENGINE}.png`));
  });

  await t.test('replaces the file when asked to', async () => {
    await clickOn('#overwrite');
    await s.sendKeys(await s.find('[data-testid="file-input"]'), samplePath);
    const upload = await finishedUpload(2);
    assert.equal(upload.state, 'done', upload.status);
    await clickOn('#overwrite');
    assert.equal(await s.execute(`return document.getElementById('overwrite').checked;`), false);
  });

  await t.test('renames, moves and deletes through the row buttons', async () => {
    const renamed = `renamed-${unique}.bin`;
    await clickAndAnswer(inRow(fileName(), 'file', 'rename'), renamed);
    await waitForElement(rowSelector(renamed, 'file'));
    await waitForElement(rowSelector(fileName(), 'file'), false);

    await clickAndAnswer(inRow(renamed, 'file', 'move'), `/${FOLDER}/moved`);
    await waitForElement(rowSelector('moved', 'dir'));
    await waitForElement(rowSelector(renamed, 'file'), false);

    await clickOn(inRow('moved', 'dir', 'open-dir'));
    await waitForElement(rowSelector(renamed, 'file'));
    await clickOn('[data-testid="up"]');
    await waitForElement(rowSelector('moved', 'dir'));

    await clickAndAnswer(inRow('moved', 'dir', 'delete'));
    await waitForElement(rowSelector('moved', 'dir'), false);
    await s.waitFor('the empty listing', `return !document.querySelector('[data-testid="empty"]').hidden;`);
    const message = await s.execute(`const m = document.querySelector('[data-testid="message"]'); return m.hidden ? null : m.textContent;`);
    assert.equal(message, null, message);
  });

  await t.test('threw no uncaught errors in the page', async () => {
    assert.deepEqual(await s.execute('return window.pageErrors;'), []);
  });
});

test(`file-backed uploads in ${ENGINE}`, async (t) => {
  await t.test('slices of a chosen file, one after another', async () => {
    assertSlices(assert, await fileBackedCheck('slices', samplePath), SIZE);
  });

  await t.test('a slice past the 4 GiB mark of a larger file', async () => {
    assertPast4Gib(assert, await fileBackedCheck('past-4-gib', sparsePath));
  });
});
