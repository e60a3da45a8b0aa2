// The demo page (www/) used as a person would, in a real browser through Playwright: make a
// folder, upload a 3 MiB file with the file input, watch its progress, download it back and
// compare bytes, hit the "name taken" error, replace, rename, move and delete; then the
// file-backed upload checks of file-backed.mjs; then the account panel on the locked app
// (register, a wrong password, owner and visibility of a file, a reload, sign-out, a shared
// reader, a token ended behind the page's back). page-webdriver.test.mjs runs the same scenario
// in the engines Playwright cannot drive here (Firefox ESR, WebKitGTK).
//
// Server: STOWAGE_TEST_SERVER (set by tests/run.mjs); when unset this file starts the built
// target/release/stowage-devserver itself. Browser: STOWAGE_BROWSER (default chrome).
// Screenshots go to tests/artifacts/.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser } from './engines.mjs';
import { assertPast4Gib, assertSlices, checkArgs, inPageChecks, makeSparseFile } from './file-backed.mjs';
import { assertImageVariants, imageVariantsArgs, inPageImageVariants } from './image-variants.mjs';
import { ARTIFACTS, LOCKED_APP, startServer } from './server.mjs';
import { SENTENCES } from '../www/errors.js';

const ENGINE = process.env.STOWAGE_BROWSER || 'chrome';
const SIZE = 3 * 1024 * 1024 + 4321;
const TAKEN = "A file with that name already exists here. Turn on 'Replace existing files' to overwrite.";
const unique = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const FOLDER = `page-test-${unique}`;

let ownServer;
let serverUrl;
let browser;
let page;
let workDir;
let samplePath;
let sampleBytes;
let sparsePath;
const pageErrors = [];

before(async () => {
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

  browser = await launchBrowser(ENGINE);
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.log(`[browser console] ${msg.text()}`);
  });
});

after(async () => {
  if (page) await page.screenshot({ path: join(ARTIFACTS, `page-end-${ENGINE}.png`), fullPage: true }).catch(() => {});
  await browser?.close();
  await ownServer?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const fileName = () => basename(samplePath);
const row = (name, kind) => page.locator(`[data-testid="entry"][data-name="${name}"][data-kind="${kind}"]`);
const uploadItems = () => page.locator(`[data-testid="upload-item"][data-file="${fileName()}"]`);

/** Waits until the `index`-th upload of the sample file is over; answers its state and status text. */
async function finishedUpload(index) {
  await page.waitForFunction(
    ([selector, i]) => {
      const item = document.querySelectorAll(selector)[i];
      return item && ['done', 'error', 'cancelled'].includes(item.dataset.state);
    },
    [`[data-testid="upload-item"][data-file="${fileName()}"]`, index],
    { timeout: 120_000 },
  );
  const item = uploadItems().nth(index);
  return {
    state: await item.getAttribute('data-state'),
    status: (await item.getByTestId('upload-status').textContent()).trim(),
    bar: await item.getByTestId('upload-progress').evaluate((el) => ({ value: el.value, max: el.max })),
  };
}

test(`the demo page in ${ENGINE}`, async (t) => {
  await t.test('connects to the server', async () => {
    await page.goto(`${serverUrl}/`);
    await page.locator('[data-testid="server-info"][data-state="ready"]').waitFor();
    assert.match(await page.getByTestId('server-info').textContent(), /server \d+\.\d+\.\d+/);
    assert.equal((await page.getByTestId('current-dir').textContent()).trim(), 'Top folder');
  });

  await t.test('creates a folder and opens it', async () => {
    await page.getByLabel('New folder').fill(FOLDER);
    await page.getByRole('button', { name: 'Create folder' }).click();
    await row(FOLDER, 'dir').getByTestId('open-dir').click();
    await page.locator(`[data-testid="current-dir"]:text-is("${FOLDER}")`).waitFor();
    assert.equal(await page.locator('#upload-dir').textContent(), `/${FOLDER}`);
    await page.getByTestId('empty').waitFor();
  });

  await t.test('uploads a chosen file with byte progress', async () => {
    await page.evaluate(() => {
      window.progressSeen = [];
      new MutationObserver((records) => {
        for (const r of records) window.progressSeen.push(Number(r.target.dataset.loaded));
      }).observe(document.getElementById('uploads'), {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-loaded'],
      });
    });
    await page.getByTestId('file-input').setInputFiles(samplePath);
    const upload = await finishedUpload(0);
    assert.deepEqual(upload, { state: 'done', status: 'Done', bar: { value: upload.bar.max, max: upload.bar.max } });
    const seen = await page.evaluate(() => window.progressSeen);
    assert.ok(seen.length > 0, 'onProgress was never called');
    assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]), `progress went backwards: ${seen}`);
    assert.ok(seen.at(-1) >= SIZE, `last progress ${seen.at(-1)} < ${SIZE}`);
  });

  await t.test('lists the uploaded file', async () => {
    const entry = row(fileName(), 'file');
    await entry.waitFor();
    assert.equal((await entry.getByTestId('entry-size').textContent()).trim(), '3.0 MiB');
  });

  await t.test('downloads the same bytes (saveAs and the listed URL)', async () => {
    const entry = row(fileName(), 'file');
    const [download] = await Promise.all([page.waitForEvent('download'), entry.getByTestId('download').click()]);
    assert.equal(download.suggestedFilename(), fileName());
    const saved = await readFile(await download.path());
    assert.equal(saved.length, SIZE);
    assert.ok(saved.equals(sampleBytes), 'downloaded bytes differ from the uploaded file');

    const href = await entry.getByTestId('entry-link').getAttribute('href');
    const response = await page.request.get(href);
    assert.equal(response.status(), 200);
    assert.ok((await response.body()).equals(sampleBytes), 'bytes at the listed URL differ');
  });

  await t.test('says in plain words that the name is taken', async () => {
    assert.equal(await page.getByLabel('Replace existing files').isChecked(), false);
    await page.getByTestId('file-input').setInputFiles(samplePath);
    const upload = await finishedUpload(1);
    assert.equal(upload.state, 'error');
    assert.equal(upload.status, TAKEN);
    await page.screenshot({ path: join(ARTIFACTS, `page-${ENGINE}.png`), fullPage: true });
  });

  await t.test('replaces the file when asked to', async () => {
    await page.getByLabel('Replace existing files').check();
    await page.getByTestId('file-input').setInputFiles(samplePath);
    const upload = await finishedUpload(2);
    assert.equal(upload.state, 'done', upload.status);
    await page.getByLabel('Replace existing files').uncheck();
  });

  await t.test('renames, moves and deletes through the row buttons', async () => {
    const renamed = `renamed-${unique}.bin`;
    page.once('dialog', (dialog) => dialog.accept(renamed));
    await row(fileName(), 'file').getByTestId('rename').click();
    await row(renamed, 'file').waitFor();
    await row(fileName(), 'file').waitFor({ state: 'detached' });

    page.once('dialog', (dialog) => dialog.accept(`/${FOLDER}/moved`));
    await row(renamed, 'file').getByTestId('move').click();
    await row('moved', 'dir').waitFor();
    await row(renamed, 'file').waitFor({ state: 'detached' });

    await row('moved', 'dir').getByTestId('open-dir').click();
    await row(renamed, 'file').waitFor();
    await page.getByTestId('up').click();
    await row('moved', 'dir').waitFor();

    page.once('dialog', (dialog) => dialog.accept());
    await row('moved', 'dir').getByTestId('delete').click();
    await row('moved', 'dir').waitFor({ state: 'detached' });
    await page.getByTestId('empty').waitFor();
    assert.equal(await page.getByTestId('message').isHidden(), true, await page.getByTestId('message').textContent());
  });

  // Issue 13: a variant made by the server from an image the page uploaded (a 640×480 PNG drawn
  // on a canvas), loaded into an <img> through `imageUrl`, at the size asked (image-variants.mjs).
  await t.test('imageUrl variants load into an <img> at the size asked', async () => {
    const where = { serverUrl, folder: `${FOLDER}-images` };
    assertImageVariants(assert, await page.evaluate(inPageImageVariants, imageVariantsArgs(where)), where);
  });

  // The package's module-level functions are JS over the configured client
  // (wasm/js/default-client.js, appended to stowage.js by scripts/build-wasm.sh): check them
  // through the built package, in a module instance of their own (nothing configured yet).
  await t.test('the module-level functions of the package use the configured client', async () => {
    const dir = `/${FOLDER}-module-level`;
    const got = await page.evaluate(
      async ({ pkgUrl, baseUrl, appId, apiKey, dir }) => {
        const m = await import(`${pkgUrl}?module-level-functions`);
        await m.default();
        const describe = (e) => ({ name: e?.name, code: e?.code, status: e?.status });
        const thrown = (f) => {
          try {
            f();
            return null;
          } catch (e) {
            return describe(e);
          }
        };
        const pending = m.info();
        const before = {
          infoIsPromise: pending instanceof Promise,
          info: await pending.then(() => null, describe),
          fileUrl: thrown(() => m.fileUrl('/a.txt')),
          currentUser: thrown(() => m.currentUser()),
        };
        m.configure({ baseUrl, appId, apiKey });
        const name = 'module-level.txt';
        const uploaded = await m.upload(new Blob(['module-level functions']), dir, true, { name });
        const answer = {
          exports: Object.keys(m).sort(),
          before,
          appId: (await m.info()).appId,
          uploadedIsUrl: uploaded === m.fileUrl(`${dir}/${name}`),
          exists: await m.exists(`${dir}/${name}`),
          listed: (await m.list(dir)).map((e) => e.name),
          text: await (await m.download(`${dir}/${name}`)).text(),
          currentUser: m.currentUser(),
          renamed: await m.rename(`${dir}/${name}`, 'renamed.txt'),
          missing: await m.download(`${dir}/${name}`).then(() => null, describe),
        };
        await m.remove(dir);
        answer.removed = !(await m.exists(dir));
        return answer;
      },
      { pkgUrl: `${serverUrl}/pkg/stowage.js`, baseUrl: serverUrl, appId: 'demo', apiKey: 'demo-key', dir },
    );
    const notConfigured = { name: 'ConfigurationError', code: 0, status: 0 };
    assert.deepEqual(got.before, {
      infoIsPromise: true,
      info: notConfigured,
      fileUrl: notConfigured,
      currentUser: notConfigured,
    });
    // The same names as when every module-level function was a wasm export, and no other.
    const exported = `FileIterator StorageClient UploadTask abortMultipart completeMultipart configure copy
      createDirectory createFile createMultipart currentUser default deleteFiles deny download downloadUrls exists
      fileUrl getFiles grant hashPart imageUrl info initSync list listFiles listFilesPage listParts login logout move
      permissions planParts presignParts register remove rename saveAs setVisibility share startUpload updateFiles
      upload uploadMultipart uploadPart wasmMemoryBytes`;
    assert.deepEqual(got.exports, exported.split(/\s+/).sort());
    assert.equal(got.appId, 'demo');
    assert.ok(got.uploadedIsUrl, 'upload resolves with the file URL');
    assert.equal(got.exists, true);
    assert.deepEqual(got.listed, ['module-level.txt']);
    assert.equal(got.text, 'module-level functions');
    assert.equal(got.currentUser, null);
    assert.equal(got.renamed, `${dir}/renamed.txt`);
    assert.equal(got.missing?.name, 'StorageError');
    assert.equal(got.missing?.status, 404);
    assert.equal(got.removed, true);
  });

  await t.test('threw no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});

/** Runs one of file-backed.mjs's in-page checks on the file chosen in a file input of its own. */
async function fileBackedCheck(check, path) {
  const id = `file-backed-${check}`;
  await page.evaluate((inputId) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = inputId;
    input.hidden = true;
    document.body.append(input);
  }, id);
  await page.locator(`#${id}`).setInputFiles(path);
  const args = checkArgs(check, { input: `#${id}`, dir: `/${FOLDER}-file-backed`, serverUrl });
  return page.evaluate(inPageChecks, args);
}

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

/**
 * Waits until the account panel is `signed-in` or `signed-out`, no account button is busy and
 * the listing has been drawn; answers the status, the user shown and the message shown (or null).
 */
async function accountSettled(wanted) {
  await page.waitForFunction((state) => {
    const status = document.getElementById('account-status');
    const busy = [...document.querySelectorAll('[data-testid="account"] button')].some((b) => b.disabled);
    return (
      status.dataset.state === state && !busy && document.getElementById('entries').getAttribute('aria-busy') === 'false'
    );
  }, wanted);
  return page.evaluate(() => {
    const message = document.getElementById('message');
    return {
      status: document.getElementById('account-status').textContent.trim(),
      user: document.getElementById('current-user').textContent.trim(),
      userId: document.getElementById('current-user-id').textContent.trim(),
      message: message.hidden ? null : document.getElementById('message-text').textContent.trim(),
    };
  });
}

/** Waits until the page shows `sentence` in its message box. */
const messageShown = (sentence) =>
  page.waitForFunction((wanted) => {
    const m = document.getElementById('message');
    return !m.hidden && document.getElementById('message-text').textContent.trim() === wanted;
  }, sentence);

/** The session the page keeps in `localStorage` (persistSession), parsed, or null. */
const storedSession = () =>
  page
    .evaluate((appId) => localStorage.getItem(`stowage:${location.origin}:${appId}:session`), LOCKED_APP.appId)
    .then((stored) => (stored === null ? null : JSON.parse(stored)));

const smallRow = () => row(SMALL_NAME, 'file');
/** Waits until the row of the small file says `visibility` in `data-visibility`. */
const visibilityShown = (visibility) =>
  smallRow().locator(`[data-testid="entry-visibility"][data-visibility="${visibility}"]`).waitFor();
/** The visibility the owner's selector of the small file shows, as its option's label. */
const chosenVisibility = () =>
  smallRow()
    .getByTestId('visibility-select')
    .evaluate((select) => select.selectedOptions[0].textContent.trim());
const showsName = (name) => page.evaluate((n) => document.body.innerText.includes(n), name);

test(`the account panel on the locked app in ${ENGINE}`, async (t) => {
  let smallPath;
  let smallUrl;

  await t.test('registers a user, shows their id, signs them out', async () => {
    smallPath = join(workDir, SMALL_NAME);
    await writeFile(smallPath, SMALL);
    await page.goto(`${serverUrl}${LOCKED_PAGE}`);
    await page.locator('[data-testid="server-info"][data-state="ready"]').waitFor();
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');

    await page.getByLabel('Email').fill(userB.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByTestId('register').click();
    const shown = await accountSettled('signed-in');
    assert.equal(shown.user, userB.email);
    assert.match(shown.userId, /\S/, 'the page shows no user id');
    userB.id = shown.userId;

    await page.getByTestId('sign-out').click();
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');
  });

  await t.test('says in plain words that the password is wrong', async () => {
    await page.getByLabel('Email').fill(userB.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByTestId('sign-in').click();
    await messageShown(SENTENCES[3003].login);
    assert.equal((await accountSettled('signed-out')).status, 'Not signed in.');
  });

  await t.test('registers and signs in a second user', async () => {
    await page.getByLabel('Email').fill(userA.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByTestId('register').click();
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.status, shown.user, shown.message], ['Signed in.', userA.email, null]);
    assert.notEqual(shown.userId, userB.id);
    userA.id = shown.userId;
  });

  await t.test('shows an uploaded file as the signed-in user’s own', async () => {
    await page.getByLabel('New folder').fill(ACCESS_FOLDER);
    await page.getByRole('button', { name: 'Create folder' }).click();
    await row(ACCESS_FOLDER, 'dir').getByTestId('open-dir').click();
    await page.locator(`[data-testid="current-dir"]:text-is("${ACCESS_FOLDER}")`).waitFor();
    await page.getByTestId('empty').waitFor();
    await page.getByTestId('file-input').setInputFiles(smallPath);
    await smallRow().waitFor();
    assert.equal((await smallRow().getByTestId('entry-owner').textContent()).trim(), 'you');
    assert.equal(await chosenVisibility(), 'App default');
    smallUrl = await smallRow().getByTestId('entry-link').evaluate((a) => a.href);
    assert.equal((await fetch(smallUrl)).status, 403, 'an anonymous caller read a file of the locked app');
  });

  await t.test('makes the file public: anyone fetches its URL', async () => {
    await smallRow().getByTestId('visibility-select').selectOption('public');
    await smallRow().getByTestId('visibility-save').click();
    await visibilityShown('public');
    assert.equal(await chosenVisibility(), 'Everyone');
    const response = await fetch(smallUrl);
    assert.equal(response.status, 200);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(SMALL), 'bytes at the public URL differ');
  });

  await t.test('shares the file with the first user only', async () => {
    await smallRow().getByTestId('visibility-select').selectOption('shared');
    await smallRow().getByTestId('shared-with').fill(userB.id);
    await smallRow().getByTestId('visibility-save').click();
    await visibilityShown('shared');
    assert.equal(await chosenVisibility(), 'Shared with…');
    assert.equal(await smallRow().getByTestId('shared-with').inputValue(), userB.id);
    assert.equal((await fetch(smallUrl)).status, 403, 'the shared file is still public');
  });

  await t.test('keeps the user signed in across a reload (persistSession)', async () => {
    await page.reload();
    await page.locator('[data-testid="server-info"][data-state="ready"]').waitFor();
    await visibilityShown('shared');
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.status, shown.user, shown.userId], ['Signed in.', userA.email, userA.id]);
    assert.equal((await smallRow().getByTestId('entry-owner').textContent()).trim(), 'you');
  });

  await t.test('signed out, the folder is refused and the file is not shown', async () => {
    await page.getByTestId('sign-out').click();
    const shown = await accountSettled('signed-out');
    assert.equal(shown.message, SENTENCES[4000].list);
    await smallRow().waitFor({ state: 'detached' });
    assert.equal(await showsName(SMALL_NAME), false);
    assert.equal(await storedSession(), null, 'the session outlived the sign-out');
  });

  await t.test('the user it is shared with reads the file but not the folder', async () => {
    await page.getByLabel('Email').fill(userB.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByTestId('sign-in').click();
    const shown = await accountSettled('signed-in');
    assert.deepEqual([shown.userId, shown.message], [userB.id, SENTENCES[4000].list]);
    assert.equal(await showsName(SMALL_NAME), false);
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
    await page.getByTestId('refresh').click();
    await messageShown(SENTENCES[3064]);
    const shown = await accountSettled('signed-out');
    assert.deepEqual([shown.status, shown.user, shown.message], ['Not signed in.', '', SENTENCES[3064]]);
    assert.equal(await storedSession(), null, 'the dead token is still in localStorage');
  });

  await t.test('threw no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
