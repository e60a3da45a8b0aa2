// The demo page (www/) used as a person would, driven through plain W3C WebDriver: the same
// scenario as page.test.mjs (Playwright), for the engines Playwright cannot drive here, Firefox
// ESR (geckodriver) and WebKitGTK (WebKitWebDriver under xvfb-run); see docs/browsers.md.
// Make a folder, upload a 3 MiB file through the file input, watch its progress, download it
// back and compare bytes, hit the "name taken" error, replace, rename, move and delete, load
// imageUrl variants into an <img>; then the file-backed upload checks of file-backed.mjs; then
// the account panel on the locked app.
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
import { assertImageVariants, imageVariantsArgs, inPageImageVariants } from './image-variants.mjs';
import { ARTIFACTS, LOCKED_APP, startServer } from './server.mjs';
import { Session, startDriver } from './webdriver.mjs';
import { SENTENCES } from '../www/errors.js';

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
  await s.windowSize(1100, 900).catch(() => {}); // not every driver can
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
 * Runs `fn(args)` in the page and answers what it resolves with. It runs as a module script of
 * the page, not as a WebDriver script: Firefox runs those in a sandbox whose objects are not the
 * page's (docs/browsers.md), and the client must be tested as pages use it. The answer comes
 * back as JSON in `document.body.dataset[key]`.
 */
async function inPageModule(label, key, fn, args) {
  const source = `const fn = ${fn.toString()};
    const report = (answer) => { document.body.dataset[${JSON.stringify(key)}] = JSON.stringify(answer); };
    fn(${JSON.stringify(args)}).then(report, (err) => report({ thrown: String(err) }));`;
  await s.execute(
    `delete document.body.dataset[arguments[1]];
     const script = document.createElement('script');
     script.type = 'module';
     script.textContent = arguments[0];
     document.head.append(script);`,
    source,
    key,
  );
  const answer = JSON.parse(
    await s.waitFor(label, 'return document.body.dataset[arguments[0]] || null;', [key], { timeoutMs: 180_000 }),
  );
  assert.equal(answer.thrown, undefined, answer.thrown);
  return answer;
}

/** Runs one of file-backed.mjs's in-page checks on the file chosen in a file input of its own. */
async function fileBackedCheck(check, path) {
  const id = `file-backed-${check}`;
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
  return inPageModule(`the ${check} check`, `fileBacked${check.replace(/\W/g, '')}`, inPageChecks, args);
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

  // Issue 13: a variant made by the server from an image the page uploaded (a 640×480 PNG drawn
  // on a canvas), loaded into an <img> through `imageUrl`, at the size asked (image-variants.mjs).
  await t.test('imageUrl variants load into an <img> at the size asked', async () => {
    const where = { serverUrl, folder: `${FOLDER}-images` };
    const got = await inPageModule('the image variants', 'imageVariants', inPageImageVariants, imageVariantsArgs(where));
    assertImageVariants(assert, got, where);
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

// ---------------------------------------------------------------- the account panel

const LOCKED_PAGE = `/?app=${LOCKED_APP.appId}&key=${LOCKED_APP.apiKey}`;
const PASSWORD = 'correct horse battery staple';
const SMALL = randomBytes(1500);
const SMALL_NAME = `access-${unique}.bin`;
const ACCESS_FOLDER = `access-test-${unique}`;
const userA = { email: `ann-${unique}@example.com` };
const userB = { email: `bob-${unique}@example.com` };

/** Replaces what the field matching `css` holds with `value`, as a person typing would. */
async function typeInto(css, value) {
  const element = await s.find(css);
  await s.clear(element);
  if (value) await s.sendKeys(element, value);
}

/** Records uncaught errors of the page just loaded in `window.pageErrors`. */
const watchErrors = () =>
  s.execute(`window.pageErrors = [];
    addEventListener('error', (e) => pageErrors.push(String(e.message)));
    addEventListener('unhandledrejection', (e) => pageErrors.push(String(e.reason)));`);

/**
 * Waits until the account panel is `signed-in` or `signed-out`, no account button is busy and
 * the listing has been drawn; answers the status, the user shown and the message shown (or null).
 */
function accountSettled(wanted) {
  return s.waitFor(
    `the page to be ${wanted}`,
    `const status = document.getElementById('account-status');
     const busy = [...document.querySelectorAll('[data-testid="account"] button')].some((b) => b.disabled);
     if (status.dataset.state !== arguments[0] || busy) return null;
     if (document.getElementById('entries').getAttribute('aria-busy') !== 'false') return null;
     const message = document.getElementById('message');
     return {
       status: status.textContent.trim(),
       user: document.getElementById('current-user').textContent.trim(),
       userId: document.getElementById('current-user-id').textContent.trim(),
       message: message.hidden ? null : document.getElementById('message-text').textContent.trim(),
     };`,
    [wanted],
  );
}

/** Waits until the page shows `sentence` in its message box. */
const messageShown = (sentence) =>
  s.waitFor(
    `the message ${JSON.stringify(sentence)}`,
    `const m = document.getElementById('message');
     return !m.hidden && document.getElementById('message-text').textContent.trim() === arguments[0];`,
    [sentence],
  );

/** The session the page keeps in `localStorage` (persistSession), parsed, or null. */
const storedSession = () =>
  s
    .execute(`return localStorage.getItem('stowage:' + location.origin + ':' + arguments[0] + ':session');`, LOCKED_APP.appId)
    .then((text) => (text === null ? null : JSON.parse(text)));

/** Waits until the row of the small file says `visibility` in `data-visibility`. */
const visibilityShown = (visibility) =>
  waitForElement(
    `${rowSelector(SMALL_NAME, 'file')} [data-testid="entry-visibility"][data-visibility="${visibility}"]`,
  );

/** The visibility the owner's selector of the small file shows, as its option's label. */
const chosenVisibility = () =>
  s.execute(
    'const select = document.querySelector(arguments[0]); return select.selectedOptions[0].textContent.trim();',
    inRow(SMALL_NAME, 'file', 'visibility-select'),
  );

test(`the account panel on the locked app in ${ENGINE}`, async (t) => {
  let smallPath;
  let smallUrl;

  await t.test('registers a user, shows their id, signs them out', async () => {
    smallPath = join(workDir, SMALL_NAME);
    await writeFile(smallPath, SMALL);
    await s.navigate(`${serverUrl}${LOCKED_PAGE}`);
    await watchErrors();
    await waitForElement('[data-testid="server-info"][data-state="ready"]');
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');

    await typeInto('#account-email', userB.email);
    await typeInto('#account-password', PASSWORD);
    await clickOn('[data-testid="register"]');
    const shown = await accountSettled('signed-in');
    assert.equal(shown.user, userB.email);
    assert.match(shown.userId, /\S/, 'the page shows no user id');
    userB.id = shown.userId;

    await clickOn('[data-testid="sign-out"]');
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');
  });

  await t.test('says in plain words that the password is wrong', async () => {
    await typeInto('#account-email', userB.email);
    await typeInto('#account-password', 'not the password');
    await clickOn('[data-testid="sign-in"]');
    await messageShown(SENTENCES[3003].login);
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');
  });

  await t.test('registers and signs in a second user', async () => {
    await typeInto('#account-email', userA.email);
    await typeInto('#account-password', PASSWORD);
    await clickOn('[data-testid="register"]');
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.status, shown.user, shown.message], ['Signed in.', userA.email, null]);
    assert.notEqual(shown.userId, userB.id);
    userA.id = shown.userId;
  });

  await t.test('shows an uploaded file as the signed-in user’s own', async () => {
    await typeInto('#mkdir-name', ACCESS_FOLDER);
    await clickOn('[data-testid="mkdir-submit"]');
    await clickOn(inRow(ACCESS_FOLDER, 'dir', 'open-dir'));
    await s.waitFor('the folder to open', `return document.querySelector('[data-testid="current-dir"]')?.textContent === arguments[0];`, [ACCESS_FOLDER]);
    await s.waitFor('the empty listing', `return !document.querySelector('[data-testid="empty"]').hidden;`);
    await s.sendKeys(await s.find('[data-testid="file-input"]'), smallPath);
    await waitForElement(inRow(SMALL_NAME, 'file', 'entry-owner'));
    assert.equal(await text(inRow(SMALL_NAME, 'file', 'entry-owner')), 'you');
    assert.equal(await chosenVisibility(), 'App default');
    smallUrl = await s.execute('return document.querySelector(arguments[0]).href;', inRow(SMALL_NAME, 'file', 'entry-link'));
    assert.equal((await fetch(smallUrl)).status, 403, 'an anonymous caller read a file of the locked app');
  });

  await t.test('makes the file public: anyone fetches its URL', async () => {
    await clickOn(`${inRow(SMALL_NAME, 'file', 'visibility-select')} option[value="public"]`);
    await clickOn(inRow(SMALL_NAME, 'file', 'visibility-save'));
    await visibilityShown('public');
    assert.equal(await chosenVisibility(), 'Everyone');
    const response = await fetch(smallUrl);
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(SMALL), 'bytes at the public URL differ');
  });

  await t.test('shares the file with the first user only', async () => {
    await clickOn(`${inRow(SMALL_NAME, 'file', 'visibility-select')} option[value="shared"]`);
    await waitForElement(`${inRow(SMALL_NAME, 'file', 'shared-with')}:not([hidden])`);
    await typeInto(inRow(SMALL_NAME, 'file', 'shared-with'), userB.id);
    await clickOn(inRow(SMALL_NAME, 'file', 'visibility-save'));
    await visibilityShown('shared');
    assert.equal(await chosenVisibility(), 'Shared with…');
    assert.equal(
      await s.execute('return document.querySelector(arguments[0]).value;', inRow(SMALL_NAME, 'file', 'shared-with')),
      userB.id,
    );
    assert.equal((await fetch(smallUrl)).status, 403, 'the shared file is still public');
  });

  await t.test('keeps the user signed in across a reload (persistSession)', async () => {
    await s.refresh();
    await watchErrors();
    await waitForElement('[data-testid="server-info"][data-state="ready"]');
    await visibilityShown('shared');
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.status, shown.user, shown.userId], ['Signed in.', userA.email, userA.id]);
    assert.equal(await text(inRow(SMALL_NAME, 'file', 'entry-owner')), 'you');
  });

  await t.test('signed out, the folder is refused and the file is not shown', async () => {
    await clickOn('[data-testid="sign-out"]');
    const shown = await accountSettled('signed-out');
    assert.equal(shown.message, SENTENCES[4000].list);
    await waitForElement(rowSelector(SMALL_NAME, 'file'), false);
    assert.equal(await s.execute('return document.body.innerText.includes(arguments[0]);', SMALL_NAME), false);
    assert.equal(await storedSession(), null, 'the session outlived the sign-out');
  });

  await t.test('the user it is shared with reads the file but not the folder', async () => {
    await typeInto('#account-email', userB.email);
    await typeInto('#account-password', PASSWORD);
    await clickOn('[data-testid="sign-in"]');
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.userId, shown.message], [userB.id, SENTENCES[4000].list]);
    assert.equal(await s.execute('return document.body.innerText.includes(arguments[0]);', SMALL_NAME), false);
    userB.token = (await storedSession())?.['user-token'];
    assert.ok(userB.token, 'the page keeps no session in localStorage');
    const response = await fetch(smallUrl, { headers: { 'user-token': userB.token } });
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(SMALL), 'bytes read with the shared token differ');
  });

  await t.test('a token ended elsewhere shows the page signed out', async () => {
    const logout = await fetch(`${serverUrl}/${LOCKED_APP.appId}/${LOCKED_APP.apiKey}/users/logout`, {
      headers: { 'user-token': userB.token },
    });
    assert.equal(logout.status, 200);
    await logout.arrayBuffer();
    await clickOn('[data-testid="refresh"]');
    await messageShown(SENTENCES[3064]);
    const shown = await accountSettled('signed-out');
    assert.deepEqual([shown.status, shown.user, shown.message], ['Not signed in.', '', SENTENCES[3064]]);
    assert.equal(await storedSession(), null, 'the dead token is still in localStorage');
  });

  await t.test('threw no uncaught errors in the page', async () => {
    assert.deepEqual(await s.execute('return window.pageErrors;'), []);
  });
});
