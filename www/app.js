// The Stowage demo page: uploads with per-file progress, the listing of one folder, and
// download / move / rename / delete / create-folder on top of the `stowage` wasm client;
// sign-in, registration and sign-out, each file's owner, and who may see it (its visibility).
// Plain ES module, no framework. The current folder lives in the URL hash (`#/a/b`). The page
// works without signing in wherever the app allows it (the open demo app).

import { describeError } from './errors.js';

const params = new URLSearchParams(location.search);
const APP_ID = params.get('app') || 'demo';
const API_KEY = params.get('key') || 'demo-key';
const UPLOAD_CONCURRENCY = 3;
const LIST_PAGE_SIZE = 500;
const LIST_MAX_ENTRIES = 10_000;

const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  /** The signed-in user (`currentUser()`), or null. */
  user: null,
  dir: '',
  maxUploadBytes: null,
  listToken: 0,
};

/** Visibility choices: `''` stands for none (the folders' rules and the app decide). */
const VISIBILITY_CHOICES = {
  '': 'App default',
  public: 'Everyone',
  private: 'Only the owner',
  protected: 'Signed-in users',
  shared: 'Shared with…',
};

// ---------------------------------------------------------------- small helpers

/** Creates an element: `h('a', { href: '#' }, 'text', child)`. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el && !key.includes('-')) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** Joins a folder path (`''` for the top folder) and a name. */
function joinPath(dir, name) {
  return dir ? `${dir}/${name}` : name;
}

function parentOf(dir) {
  const cut = dir.lastIndexOf('/');
  return cut < 0 ? '' : dir.slice(0, cut);
}

function trimSlashes(s) {
  return s.trim().replace(/^\/+|\/+$/g, '');
}

function dirHref(dir) {
  return '#/' + (dir ? dir.split('/').map(encodeURIComponent).join('/') : '');
}

function dirFromHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  if (!raw) return '';
  try {
    return trimSlashes(raw.split('/').map(decodeURIComponent).join('/'));
  } catch {
    return '';
  }
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = -1;
  do {
    value /= 1024;
    unit += 1;
  } while (value >= 1024 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatDate(ms) {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '' : dateFormat.format(date);
}

function isoDate(ms) {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function folderLabel(dir) {
  return dir ? `/${dir}` : 'the top folder';
}

// ---------------------------------------------------------------- messages

function showError(err, action) {
  noticeSignOut(err);
  const text = describeError(err, action, { maxUploadBytes: state.maxUploadBytes, formatBytes });
  if (!text) return; // a cancelled action needs no message
  $('message-text').textContent = text;
  $('message').hidden = false;
}

/** A dead token (3064) has been dropped by the client: show the page signed out. */
function noticeSignOut(err) {
  if (err?.name === 'StorageError' && err.code === 3064) renderAccount();
}

function clearMessage() {
  $('message').hidden = true;
  $('message-text').textContent = '';
}

// ---------------------------------------------------------------- listing

async function fetchAll(dir) {
  const entries = [];
  for (let offset = 0; entries.length < LIST_MAX_ENTRIES; offset += LIST_PAGE_SIZE) {
    const page = await state.client.list(dir, { pageSize: LIST_PAGE_SIZE, offset });
    entries.push(...page);
    if (page.length < LIST_PAGE_SIZE) break;
  }
  return entries;
}

async function refresh() {
  const token = ++state.listToken;
  const dir = state.dir;
  const body = $('entries');
  body.setAttribute('aria-busy', 'true');
  try {
    const entries = await fetchAll(dir);
    if (token !== state.listToken) return;
    entries.sort(
      (a, b) => Number(b.isDirectory) - Number(a.isDirectory) || a.name.localeCompare(b.name),
    );
    body.replaceChildren(...entries.map((entry) => entryRow(entry, dir)));
    $('empty').hidden = entries.length > 0;
  } catch (err) {
    if (token !== state.listToken) return;
    body.replaceChildren();
    $('empty').hidden = true;
    showError(err, 'list');
  } finally {
    if (token === state.listToken) body.setAttribute('aria-busy', 'false');
  }
}

let refreshTimer = 0;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);
}

const ICONS = {
  dir: 'M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
  file: 'M6 3h8l4 4v13a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm8 0v4h4',
};

function icon(kind) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${kind}`);
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', ICONS[kind]);
  svg.append(path);
  return svg;
}

/**
 * A 64×64 variant of an image file, made by the server (`imageUrl`); the file icon for other
 * files, and in place of a thumbnail that does not load (an `<img>` carries no `user-token`,
 * so a private image's variant is refused to it).
 */
function thumbnail(entry, path) {
  if (!/\.(jpe?g|png|gif|webp)$/i.test(entry.name)) return icon('file');
  const img = h('img', { class: 'thumb', alt: '', loading: 'lazy', 'data-testid': 'thumb', width: '24', height: '24' });
  img.addEventListener('error', () => img.replaceWith(icon('file')), { once: true });
  img.src = state.client.imageUrl(path, { width: 64, height: 64 });
  return img;
}

function entryRow(entry, dir) {
  const kind = entry.isDirectory ? 'dir' : 'file';
  const path = entry.url || joinPath(dir, entry.name);
  const nameCell = entry.isDirectory
    ? h('a', { href: dirHref(path), 'data-testid': 'open-dir' }, icon('dir'), entry.name)
    : h(
        'a',
        { href: entry.publicUrl, target: '_blank', rel: 'noopener', 'data-testid': 'entry-link' },
        thumbnail(entry, path),
        entry.name,
      );

  const actions = h('td', { class: 'actions' });
  if (!entry.isDirectory) {
    actions.append(
      actionButton('Download', entry, 'download', (button) => download(entry, path, button)),
    );
  }
  actions.append(
    actionButton('Move', entry, 'move', () => moveEntry(entry, path)),
    actionButton('Rename', entry, 'rename', () => renameEntry(entry, path)),
    actionButton('Delete', entry, 'delete', () => deleteEntry(entry, path), 'danger'),
  );

  return h(
    'tr',
    { 'data-testid': 'entry', 'data-name': entry.name, 'data-kind': kind },
    h('td', { class: 'name' }, nameCell),
    h('td', { class: 'num', 'data-testid': 'entry-size' }, entry.isDirectory ? '' : formatBytes(entry.size)),
    h(
      'td',
      { class: 'date' },
      h('time', { dateTime: isoDate(entry.updatedOn) }, formatDate(entry.updatedOn)),
    ),
    h(
      'td',
      { class: 'owner', 'data-testid': 'entry-owner', 'data-owner': entry.ownerId ?? '', title: ownerTitle(entry) },
      ownerLabel(entry),
    ),
    visibilityCell(entry, path),
    actions,
  );
}

// ---------------------------------------------------------------- owner and visibility

const isMine = (entry) => Boolean(state.user?.objectId) && entry.ownerId === state.user.objectId;

function ownerLabel(entry) {
  if (!entry.ownerId) return '—';
  return isMine(entry) ? 'you' : entry.ownerId;
}

function ownerTitle(entry) {
  if (!entry.ownerId) return 'Written without signing in: no one owns it';
  return isMine(entry) ? `You (${entry.ownerId})` : `User ${entry.ownerId}`;
}

function visibilityLabel(entry) {
  const shared = entry.sharedWith ?? [];
  if (entry.visibility === 'shared') {
    return shared.length === 1 ? 'Shared with 1 user' : `Shared with ${shared.length} users`;
  }
  return VISIBILITY_CHOICES[entry.visibility ?? ''] ?? entry.visibility;
}

/** The visibility of a row: a form to change it for the owner's files, a label otherwise. */
function visibilityCell(entry, path) {
  const td = h('td', {
    class: 'visibility',
    'data-testid': 'entry-visibility',
    'data-visibility': entry.visibility ?? '',
  });
  if (entry.isDirectory || !isMine(entry)) {
    td.append(visibilityLabel(entry));
    return td;
  }
  const current = entry.visibility ?? '';
  const select = h(
    'select',
    { 'aria-label': `Who sees ${entry.name}`, 'data-testid': 'visibility-select' },
    ...Object.entries(VISIBILITY_CHOICES).map(([value, label]) =>
      h('option', { value, selected: value === current }, label),
    ),
  );
  const ids = h('input', {
    type: 'text',
    value: (entry.sharedWith ?? []).join(', '),
    placeholder: 'user ids, comma-separated',
    spellcheck: false,
    'aria-label': `Share ${entry.name} with these user ids (comma-separated)`,
    'data-testid': 'shared-with',
    hidden: current !== 'shared',
  });
  const save = h(
    'button',
    { type: 'submit', class: 'small', 'aria-label': `Save who sees ${entry.name}`, 'data-testid': 'visibility-save' },
    'Save',
  );
  select.addEventListener('change', () => {
    ids.hidden = select.value !== 'shared';
    if (!ids.hidden) ids.focus();
  });
  const form = h(
    'form',
    {
      class: 'visibility-form',
      'data-testid': 'visibility-form',
      onsubmit: async (event) => {
        event.preventDefault();
        save.disabled = true;
        clearMessage();
        try {
          await setVisibility(path, select.value, ids.value);
        } catch (err) {
          showError(err, 'visibility');
        } finally {
          save.disabled = false;
        }
        await refresh();
      },
    },
    select,
    save,
    ids,
  );
  td.append(form);
  return td;
}

async function setVisibility(path, value, idsText) {
  if (value === 'shared') {
    const ids = idsText.split(/[\s,]+/).filter(Boolean);
    await state.client.share(path, ids);
  } else {
    await state.client.setVisibility(path, value === '' ? null : value);
  }
}

function actionButton(label, entry, testid, run, extraClass = '') {
  return h(
    'button',
    {
      type: 'button',
      class: `small ${extraClass}`.trim(),
      'aria-label': `${label} ${entry.name}`,
      'data-testid': testid,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          await run(button);
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
}

// ---------------------------------------------------------------- entry actions

async function download(entry, path) {
  clearMessage();
  try {
    await state.client.saveAs(path, entry.name);
  } catch (err) {
    showError(err, 'download');
  }
}

async function moveEntry(entry, path) {
  const answer = prompt(
    `Move "${entry.name}" into which folder? Write / for the top folder.`,
    `/${state.dir}`,
  );
  if (answer === null) return;
  clearMessage();
  try {
    await state.client.move(path, `/${trimSlashes(answer)}`);
  } catch (err) {
    showError(err, 'move');
  }
  await refresh();
}

async function renameEntry(entry, path) {
  const answer = prompt(`New name for "${entry.name}":`, entry.name);
  if (answer === null || answer.trim() === '' || answer.trim() === entry.name) return;
  clearMessage();
  try {
    await state.client.rename(path, answer.trim());
  } catch (err) {
    showError(err, 'rename');
  }
  await refresh();
}

async function deleteEntry(entry, path) {
  const what = entry.isDirectory ? `the folder "${entry.name}" and everything in it` : `"${entry.name}"`;
  if (!confirm(`Delete ${what}? This cannot be undone.`)) return;
  clearMessage();
  try {
    await state.client.remove(path);
  } catch (err) {
    showError(err, 'delete');
  }
  await refresh();
}

async function createFolder(event) {
  event.preventDefault();
  const input = $('mkdir-name');
  const name = trimSlashes(input.value);
  if (!name) return;
  clearMessage();
  try {
    await state.client.createDirectory(joinPath(state.dir, name));
    input.value = '';
  } catch (err) {
    showError(err, 'mkdir');
  }
  await refresh();
}

// ---------------------------------------------------------------- uploads

const queue = [];
let active = 0;

function enqueue(files) {
  if (!state.client) return;
  const dir = state.dir;
  const overwrite = $('overwrite').checked;
  for (const file of files) {
    const item = uploadItem(file, dir);
    $('uploads').append(item.li);
    if (state.maxUploadBytes !== null && file.size > state.maxUploadBytes) {
      item.fail({ name: 'StorageError', code: 8005, message: 'too large' });
      continue;
    }
    queue.push({ file, dir, overwrite, item });
  }
  updateClearButton();
  pump();
}

function pump() {
  while (active < UPLOAD_CONCURRENCY && queue.length > 0) {
    const job = queue.shift();
    if (job.item.controller.signal.aborted) continue;
    active += 1;
    runUpload(job).finally(() => {
      active -= 1;
      pump();
    });
  }
}

async function runUpload({ file, dir, overwrite, item }) {
  item.start();
  try {
    const url = await state.client.upload(file, dir, overwrite, {
      onProgress: (loaded, total) => item.progress(loaded, total),
      signal: item.controller.signal,
    });
    item.done(url);
    if (dir === state.dir) scheduleRefresh();
  } catch (err) {
    item.fail(err);
  }
}

function uploadItem(file, dir) {
  const controller = new AbortController();
  const bar = h('progress', {
    max: Math.max(file.size, 1),
    value: 0,
    'data-testid': 'upload-progress',
    'aria-label': `Upload of ${file.name}`,
  });
  const status = h('span', { class: 'upload-status', 'data-testid': 'upload-status' }, 'Waiting…');
  const cancel = h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-label': `Cancel upload of ${file.name}`,
      'data-testid': 'upload-cancel',
      onclick: () => {
        controller.abort();
        if (li.dataset.state === 'queued') finish('cancelled', 'Cancelled.');
      },
    },
    'Cancel',
  );
  const li = h(
    'li',
    { class: 'upload', 'data-testid': 'upload-item', 'data-file': file.name, 'data-state': 'queued' },
    h(
      'div',
      { class: 'upload-line' },
      h('span', { class: 'upload-name', title: `/${joinPath(dir, file.name)}` }, file.name),
      h('span', { class: 'upload-size' }, formatBytes(file.size)),
      status,
      cancel,
    ),
    bar,
  );

  function finish(stateName, text) {
    li.dataset.state = stateName;
    status.textContent = text;
    cancel.remove();
    updateClearButton();
  }

  return {
    li,
    controller,
    start() {
      li.dataset.state = 'uploading';
      status.textContent = '0%';
    },
    progress(loaded, total) {
      const max = total > 0 ? total : Math.max(file.size, 1);
      bar.max = max;
      bar.value = Math.min(loaded, max);
      li.dataset.loaded = String(loaded);
      status.textContent = `${Math.floor((100 * Math.min(loaded, max)) / max)}%`;
    },
    done() {
      bar.value = bar.max;
      finish('done', 'Done');
    },
    fail(err) {
      noticeSignOut(err);
      if (err?.name === 'AbortError') {
        finish('cancelled', 'Cancelled.');
        return;
      }
      finish('error', describeError(err, 'upload', { maxUploadBytes: state.maxUploadBytes, formatBytes }));
    },
  };
}

function updateClearButton() {
  const finished = $('uploads').querySelectorAll('[data-state="done"], [data-state="error"], [data-state="cancelled"]');
  let button = $('clear-uploads');
  if (finished.length === 0) {
    button?.remove();
    return;
  }
  if (!button) {
    button = h(
      'button',
      { type: 'button', id: 'clear-uploads', class: 'small', 'data-testid': 'clear-uploads', onclick: clearFinished },
      'Clear finished uploads',
    );
    $('uploads').after(button);
  }
}

function clearFinished() {
  for (const li of $('uploads').querySelectorAll('[data-state="done"], [data-state="error"], [data-state="cancelled"]')) {
    li.remove();
  }
  updateClearButton();
}

function setUpDropZone() {
  const zone = $('drop-zone');
  const input = $('file-input');
  input.addEventListener('change', () => {
    enqueue(Array.from(input.files));
    input.value = ''; // choosing the same file again fires `change` again
  });

  let depth = 0;
  zone.addEventListener('dragenter', (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    const files = [];
    let folders = 0;
    const items = Array.from(event.dataTransfer.items ?? []).filter((item) => item.kind === 'file');
    for (const item of items) {
      if (item.webkitGetAsEntry?.()?.isDirectory) {
        folders += 1;
      } else {
        const file = item.getAsFile();
        if (file) files.push(file);
      }
    }
    if (items.length === 0) files.push(...event.dataTransfer.files);
    if (folders > 0) {
      $('message-text').textContent =
        'Folders cannot be dropped here. Open the folder and drop the files inside it instead.';
      $('message').hidden = false;
    }
    enqueue(files);
  });
  // A drop that misses the zone must not make the browser open the file instead of the page.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (!zone.contains(event.target)) event.preventDefault();
    });
  }
}

// ---------------------------------------------------------------- account

/** Shows who is signed in (the client keeps the session, in `localStorage` across reloads). */
function renderAccount() {
  let user = null;
  try {
    user = state.client?.currentUser() ?? null;
  } catch {
    user = null;
  }
  state.user = user;
  const status = $('account-status');
  status.dataset.state = user ? 'signed-in' : 'signed-out';
  status.textContent = user ? 'Signed in.' : 'Not signed in.';
  $('sign-in-form').hidden = Boolean(user);
  $('signed-in').hidden = !user;
  $('current-user').textContent = user ? (user.name ? `${user.name} (${user.email})` : (user.email ?? '')) : '';
  $('current-user-id').textContent = user?.objectId ?? '';
}

/** Runs an account action with the form's buttons disabled; then shows the account and lists. */
async function accountAction(action, run) {
  if (!state.client) return;
  const buttons = document.querySelectorAll('#account button');
  for (const b of buttons) b.disabled = true;
  clearMessage();
  try {
    await run();
    $('account-password').value = '';
  } catch (err) {
    showError(err, action);
  } finally {
    for (const b of buttons) b.disabled = false;
    renderAccount();
  }
  await refresh();
}

function signIn(event) {
  event.preventDefault();
  const email = $('account-email').value.trim();
  const password = $('account-password').value;
  return accountAction('login', () => state.client.login(email, password));
}

function registerAccount() {
  const form = $('sign-in-form');
  if (!form.reportValidity()) return undefined;
  const email = $('account-email').value.trim();
  const password = $('account-password').value;
  const name = $('account-name').value.trim();
  return accountAction('register', async () => {
    await state.client.register(name ? { email, password, name } : { email, password });
    await state.client.login(email, password);
  });
}

function signOut() {
  return accountAction('logout', () => state.client.logout());
}

// ---------------------------------------------------------------- navigation

function renderBreadcrumbs() {
  const dir = state.dir;
  const crumbs = h('ol');
  const segments = dir ? dir.split('/') : [];
  crumbs.append(h('li', {}, crumbLink('Top folder', '', segments.length === 0)));
  segments.forEach((name, i) => {
    const path = segments.slice(0, i + 1).join('/');
    crumbs.append(h('li', {}, crumbLink(name, path, i === segments.length - 1)));
  });
  const nav = $('breadcrumbs');
  nav.replaceChildren(crumbs);
  if (dir) {
    nav.append(h('a', { href: dirHref(parentOf(dir)), class: 'up', 'data-testid': 'up' }, 'Up one folder'));
  }
}

function crumbLink(label, path, current) {
  return current
    ? h('span', { 'aria-current': 'page', 'data-testid': 'current-dir' }, label)
    : h('a', { href: dirHref(path) }, label);
}

function onLocationChange() {
  state.dir = dirFromHash();
  $('upload-dir').textContent = folderLabel(state.dir);
  $('listing-caption').textContent = `Contents of ${folderLabel(state.dir)}`;
  document.title = state.dir ? `/${state.dir} – Stowage` : 'Stowage';
  renderBreadcrumbs();
  clearMessage();
  if (state.client) refresh();
}

// ---------------------------------------------------------------- start

async function connect() {
  const info = $('server-info');
  let mod;
  try {
    mod = await import('./pkg/stowage.js');
    await mod.default();
  } catch (err) {
    info.dataset.state = 'error';
    info.textContent =
      'The client package (www/pkg/stowage.js) could not be loaded. Build it with `npm run build` and reload.';
    console.error(err);
    return;
  }
  state.client = new mod.StorageClient({
    baseUrl: location.origin,
    appId: APP_ID,
    apiKey: API_KEY,
    persistSession: true,
  });
  renderAccount();
  try {
    const about = await state.client.info();
    state.maxUploadBytes = Number(about.maxUploadBytes) || null;
    info.dataset.state = 'ready';
    info.textContent = `${about.name || about.appId} · server ${about.serverVersion} · files up to ${formatBytes(
      Number(about.maxUploadBytes),
    )}`;
  } catch (err) {
    info.dataset.state = 'error';
    info.textContent = describeError(err, 'info', {});
    return;
  }
  refresh();
}

setUpDropZone();
$('mkdir-form').addEventListener('submit', createFolder);
$('refresh').addEventListener('click', () => {
  clearMessage();
  refresh();
});
$('message-close').addEventListener('click', clearMessage);
$('sign-in-form').addEventListener('submit', signIn);
$('register').addEventListener('click', registerAccount);
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', onLocationChange);
onLocationChange();
connect();
