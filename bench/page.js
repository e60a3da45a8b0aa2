// The in-page half of the browser bench: one timed operation per call of `window.bench.run`.
// Files come from the page's file input (the driver picks real files on disk with
// `setInputFiles`), so every body is a file-backed File or a slice of one that the browser
// streams from disk. No body is an ArrayBuffer: Playwright keeps Chromium's Network domain on,
// which copies such bodies to the driver and would slow them down about 15 times.

import init, { StorageClient, hashPart, wasmMemoryBytes } from './pkg/stowage.js';

const MIB = 1024 * 1024;
/** The directory every bench upload goes to. */
const DIR = 'bench';
const ROOT = '/demo/demo-key/files';
const PART_SIZE = 8 * MIB;

await init();
const client = new StorageClient({ baseUrl: location.origin, appId: 'demo', apiKey: 'demo-key' });

const uploadUrl = (name) => `${ROOT}/${DIR}/${encodeURIComponent(name)}?overwrite=true`;
const fileUrl = (name) => `${ROOT}/${DIR}/${encodeURIComponent(name)}`;

/** The picked file named `name`. */
function pickedFile(name) {
  const file = [...document.getElementById('files').files].find((f) => f.name === name);
  if (!file) throw new Error(`no picked file named ${name}`);
  return file;
}

async function expectOk(response) {
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
  await response.arrayBuffer();
}

function expectSize(blob, size) {
  if (blob.size !== size) throw new Error(`downloaded ${blob.size} bytes, expected ${size}`);
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Each operation takes `{file, target, ...}` and answers a small JSON-able detail (or nothing). */
const OPERATIONS = {
  /** The physical limit: a plain fetch with the File as its body. */
  async fetch({ file, target }) {
    const response = await fetch(uploadUrl(target), {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    await expectOk(response);
  },

  /** The same request through a plain XMLHttpRequest (no progress listener). */
  xhr({ file, target }) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', uploadUrl(target));
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.onload = () => (xhr.status === 200 ? resolve() : reject(new Error(`XHR ${xhr.status}: ${xhr.responseText}`)));
      xhr.onerror = () => reject(new Error('XHR network error'));
      xhr.send(file);
    });
  },

  /** Stowage `upload()`: one request, same route. */
  async upload({ file, target }) {
    await client.upload(file, DIR, true, { name: target });
  },

  /** Stowage `uploadMultipart()`; `resume: false` so the journal never short-circuits a repeat. */
  async multipart({ file, target, concurrency, checksum }) {
    const result = await client.uploadMultipart(file, DIR, {
      name: target,
      partSize: PART_SIZE,
      concurrency,
      checksum,
      overwrite: true,
      resume: false,
    });
    if (result.size !== file.size) throw new Error(`multipart stored ${result.size} bytes of ${file.size}`);
  },

  /** Plain `fetch().blob()` of a stored file. */
  async fetchDownload({ target, size }) {
    const response = await fetch(fileUrl(target));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    expectSize(await response.blob(), size);
  },

  /** Stowage `download()` of the same file. */
  async download({ target, size }) {
    expectSize(await client.download(`${DIR}/${target}`), size);
  },

  /** Reading the File into one ArrayBuffer: what hashing cannot be faster than. */
  async read({ file }) {
    const buffer = await file.arrayBuffer();
    return { bytes: buffer.byteLength };
  },

  /** Reads alone, in slices of `step` MiB one after another (`hashPart` reads 8 MiB slices). */
  async readSlices({ file, step = 1 }) {
    let bytes = 0;
    for (let start = 0; start < file.size; start += step * MIB) {
      bytes += (await file.slice(start, Math.min(start + step * MIB, file.size)).arrayBuffer()).byteLength;
    }
    return { bytes };
  },

  /** Stowage `hashPart` of the File (wasm, reading it in 8 MiB steps). */
  async hash({ file, algorithm }) {
    return { checksum: await hashPart(file, algorithm) };
  },

  /** Stowage `hashPart` of the File's bytes already in memory: the hashing alone, timed alone. */
  async hashMemory({ file, algorithm }) {
    const buffer = await file.arrayBuffer();
    const started = performance.now();
    const checksum = await hashPart(buffer, algorithm);
    return { hashMs: performance.now() - started, checksum };
  },

  /** `crypto.subtle.digest('SHA-256')` of the same bytes: read, then digest. */
  async subtle({ file }) {
    const started = performance.now();
    const buffer = await file.arrayBuffer();
    const read = performance.now();
    const digest = await crypto.subtle.digest('SHA-256', buffer);
    return { readMs: read - started, digestMs: performance.now() - read, sha256: hex(digest) };
  },
};

/**
 * Samples `usedJSHeapSize` (precise with `--enable-precise-memory-info`) until stopped. In
 * Chromium it counts ArrayBuffer backing stores too, and garbage not yet collected: the peak is
 * the transient memory an operation makes the page hold.
 */
function heapSampler(intervalMs = 10) {
  const used = () => performance.memory?.usedJSHeapSize ?? NaN;
  let peak = used();
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, used());
      return peak;
    },
  };
}

window.bench = {
  ready: true,
  /**
   * Runs one operation and times it. `args.fileName` names a picked file. Answers
   * `{ms, detail, wasmBefore, wasmAfter, jsHeapBefore, jsHeapPeak, jsHeapAfterGc}`.
   */
  async run(operation, args) {
    const fn = OPERATIONS[operation];
    if (!fn) throw new Error(`unknown operation ${operation}`);
    const file = args.fileName ? pickedFile(args.fileName) : null;
    globalThis.gc?.();
    const wasmBefore = wasmMemoryBytes();
    const jsHeapBefore = performance.memory?.usedJSHeapSize ?? NaN;
    const heap = heapSampler();
    const started = performance.now();
    let detail;
    let ms;
    let jsHeapPeak;
    try {
      detail = await fn({ ...args, file });
      ms = performance.now() - started;
    } finally {
      jsHeapPeak = heap.stop();
    }
    globalThis.gc?.();
    const jsHeapAfterGc = performance.memory?.usedJSHeapSize ?? NaN;
    return { ms, detail: detail ?? null, wasmBefore, wasmAfter: wasmMemoryBytes(), jsHeapBefore, jsHeapPeak, jsHeapAfterGc };
  },
};
