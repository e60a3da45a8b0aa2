// The page side of tests/worker.test.mjs: starts module workers running worker.js, posts them
// Files chosen in this page's file inputs, and relays their answers to the test.
//
// The test talks to the page through the DOM only, the same way for Playwright and WebDriver
// (Firefox runs WebDriver scripts in a sandbox that cannot see this module's globals): it
// appends `<template data-id=N data-command='{"op": ..., ...}'>` to `#commands`; this module
// runs the command and writes its answer as JSON into the element's `data-answer`. Commands
// that start an upload also set `data-started` to the upload id as soon as the worker knows it.

const commands = document.getElementById('commands');
const params = new URLSearchParams(location.search);
const clientOptions = { baseUrl: location.origin, appId: params.get('app'), apiKey: params.get('key') };

/** Uncaught errors of the page and of its workers; the test expects none. */
const errors = [];
addEventListener('error', (e) => errors.push(`page: ${e.message}`));
addEventListener('unhandledrejection', (e) => errors.push(`page: ${e.reason}`));

/** Running workers by the test's name for them. */
const workers = new Map();
/** Calls waiting for their worker's answer, by message id. */
const pending = new Map();
let nextMessage = 1;

/** Posts `message` to worker `name`; resolves with its last answer and the progress seen. */
function call(name, message, { onStarted = () => {} } = {}) {
  const worker = workers.get(name);
  if (!worker) return Promise.reject(new Error(`no worker ${name}`));
  const id = nextMessage;
  nextMessage += 1;
  return new Promise((resolve) => {
    pending.set(id, { worker: name, progress: [], resolve, onStarted });
    worker.postMessage({ ...message, id });
  });
}

function onAnswer(name, { data }) {
  const call = pending.get(data.id);
  if (!call) {
    errors.push(`worker ${name}: an answer to no call: ${JSON.stringify(data)}`);
    return;
  }
  if (data.type === 'progress') {
    call.progress.push([data.loaded, data.total]);
  } else if (data.type === 'started') {
    call.uploadId = data.uploadId;
    call.onStarted(data.uploadId);
  } else {
    pending.delete(data.id);
    call.resolve({ ...data, progress: call.progress, uploadId: call.uploadId });
  }
}

/** The file chosen in the file input `css`. */
function chosen(css) {
  const file = document.querySelector(css)?.files?.[0];
  if (!file) throw new Error(`no file chosen in ${css}`);
  return file;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** The records of the client's resume journal (IndexedDB `stowage`, store `uploads`), parsed. */
function journal() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open('stowage');
    // No database yet: do not create one (the client creates it, with its store, on first use).
    request.onupgradeneeded = () => request.transaction.abort();
    request.onerror = () => resolve({ missing: true, records: [] });
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains('uploads')) {
        db.close();
        resolve({ missing: true, records: [] });
        return;
      }
      const all = db.transaction('uploads', 'readonly').objectStore('uploads').getAll();
      all.onsuccess = () => {
        db.close();
        resolve({ missing: false, records: all.result.map((text) => JSON.parse(text)) });
      };
      all.onerror = () => {
        db.close();
        reject(new Error(`reading the journal: ${all.error}`));
      };
    };
  });
}

const handlers = {
  /** Starts module worker `name` and configures its client; answers what it runs in. */
  async spawn({ name }) {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (event) => onAnswer(name, event);
    worker.onerror = (e) => {
      e.preventDefault();
      errors.push(`worker ${name}: ${e.message || 'error event'} (${e.filename}:${e.lineno})`);
    };
    worker.onmessageerror = () => errors.push(`worker ${name}: a message could not be read`);
    workers.set(name, worker);
    return call(name, { op: 'configure', options: clientOptions });
  },

  /**
   * Runs `operation` in worker `name`, with the file chosen in the input `input` (if given)
   * posted along. A Blob answered (a download) is described by its size and SHA-256.
   */
  async run({ name, operation, input, args }, element) {
    const message = { ...args, op: operation };
    if (input) message.file = chosen(input);
    const answer = await call(name, message, {
      onStarted: (uploadId) => {
        element.dataset.started = uploadId;
      },
    });
    if (answer.value instanceof Blob) {
      const blob = answer.value;
      const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
      answer.value = { blob: true, size: blob.size, type: blob.type, sha256: hex(digest) };
    }
    return answer;
  },

  /** Ends worker `name` at once, as a closed tab would: nothing is told to the server. */
  terminate({ name }) {
    workers.get(name)?.terminate();
    workers.delete(name);
    for (const [id, waiting] of pending) {
      if (waiting.worker === name) {
        pending.delete(id);
        waiting.resolve({ type: 'terminated', progress: waiting.progress, uploadId: waiting.uploadId });
      }
    }
    return { terminated: name };
  },

  journal,

  errors: () => errors,
};

async function runCommand(element) {
  let answer;
  try {
    const command = JSON.parse(element.dataset.command);
    const handler = handlers[command.op];
    if (!handler) throw new Error(`unknown command ${command.op}`);
    answer = { ok: await handler(command, element) };
  } catch (err) {
    answer = { thrown: String(err?.stack ?? err) };
  }
  element.dataset.answer = JSON.stringify(answer);
}

new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) if (node.dataset?.command) runCommand(node);
  }
}).observe(commands, { childList: true });
document.body.dataset.ready = 'true';
