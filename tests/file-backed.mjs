// Uploads of file-backed Files, the case where upload libraries meet Safari's known bugs
// (docs/browsers.md): a wasm-bindgen test cannot get such a File, so both page tests
// (Playwright and WebDriver) pick real files on disk with the file input and run the same
// in-page checks from here, through the built client in www/pkg/.
//
// - slices of a chosen file, uploaded one after another (Safari: hangs after the first chunk;
//   an XHR whose body is a file-backed Blob never finishes);
// - a sparse file just over 4 GiB: its size, and a slice past the 4 GiB mark read and uploaded
//   (Safari: NotReadableError for files over 4 GB). The file takes no disk space, and only the
//   slice crosses the network, so this runs in CI.

import { open } from 'node:fs/promises';

const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;
/** The sparse file's size: 4 GiB + 3 MiB. */
export const SPARSE_SIZE = 4 * GIB + 3 * MIB;
/** Where the marker bytes sit in the sparse file: 1 MiB past the 4 GiB mark, 64 KiB of them. */
export const MARK_OFFSET = 4 * GIB + MIB;
export const MARK_LENGTH = 64 * 1024;
/** Slices of the small file: this many bytes each (the last one shorter). */
export const SLICE_SIZE = MIB;
/** An upload that takes longer than this counts as hung. */
const HANG_MS = 30_000;

/** The marker: bytes no run of zeros can be mistaken for. */
export function markBytes() {
  const bytes = Buffer.alloc(MARK_LENGTH);
  for (let i = 0; i < MARK_LENGTH; i += 1) bytes[i] = (i * 7 + 13) & 0xff;
  return bytes;
}

/** Writes a sparse file of SPARSE_SIZE bytes with the marker at MARK_OFFSET; zeros elsewhere. */
export async function makeSparseFile(path) {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(SPARSE_SIZE);
    await handle.write(markBytes(), 0, MARK_LENGTH, MARK_OFFSET);
  } finally {
    await handle.close();
  }
}

/**
 * Runs in the page (a function, so Playwright's `evaluate` and WebDriver's `execute/async` can
 * both send its source). `input` is a CSS selector of a file input holding one chosen file.
 * Answers a plain object describing what happened; the Node side asserts on it.
 */
export async function inPageChecks({ check, input, dir, baseUrl, pkgUrl, sliceSize, hangMs, markOffset, markLength }) {
  const mod = await import(pkgUrl);
  await mod.default(); // the page already initialised the module; this answers at once
  const client = new mod.StorageClient({ baseUrl, appId: 'demo', apiKey: 'demo-key' });
  const file = document.querySelector(input).files[0];
  const bytes = async (blob) => new Uint8Array(await blob.arrayBuffer());
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const describe = (err) => `${err?.name}: ${err?.message}`;

  /** One upload through the client, aborted and reported as hung after `hangMs`. */
  const upload = async (blob, name) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), hangMs);
    const started = performance.now();
    let loaded = 0;
    try {
      await client.upload(blob, dir, true, {
        name,
        signal: controller.signal,
        onProgress: (n) => {
          loaded = n;
        },
      });
      return { ok: true, ms: Math.round(performance.now() - started), loaded };
    } catch (err) {
      const hung = controller.signal.aborted;
      return { ok: false, error: hung ? `hung: no answer after ${hangMs} ms, ${loaded} bytes sent` : describe(err) };
    } finally {
      clearTimeout(timer);
    }
  };
  const storedEquals = async (name, blob) => same(await bytes(await client.download(`${dir}/${name}`)), await bytes(blob));

  if (check === 'slices') {
    const results = [];
    for (let start = 0, i = 0; start < file.size; start += sliceSize, i += 1) {
      const slice = file.slice(start, Math.min(start + sliceSize, file.size));
      const result = await upload(slice, `slice-${i}.bin`);
      if (result.ok) result.stored = await storedEquals(`slice-${i}.bin`, slice);
      results.push(result);
      if (!result.ok) break;
    }
    return { size: file.size, results };
  }
  if (check === 'past-4-gib') {
    const slice = file.slice(markOffset, markOffset + markLength);
    let read;
    try {
      const got = await bytes(slice);
      read = { ok: true, length: got.length, firstBytes: Array.from(got.slice(0, 4)) };
    } catch (err) {
      read = { ok: false, error: describe(err) };
    }
    const result = await upload(slice, 'past-4-gib.bin');
    if (result.ok) result.stored = await storedEquals('past-4-gib.bin', slice);
    return { size: file.size, read, upload: result };
  }
  throw new Error(`unknown check ${check}`);
}

/** The arguments of `inPageChecks` for one check. */
export function checkArgs(check, { input, dir, serverUrl }) {
  return {
    check,
    input,
    dir,
    baseUrl: serverUrl,
    pkgUrl: `${serverUrl}/pkg/stowage.js`,
    sliceSize: SLICE_SIZE,
    hangMs: HANG_MS,
    markOffset: MARK_OFFSET,
    markLength: MARK_LENGTH,
  };
}

/** Asserts on the answer of the `slices` check for a file of `size` bytes. */
export function assertSlices(assert, answer, size) {
  assert.equal(answer.size, size, 'File.size');
  const expected = Math.ceil(size / SLICE_SIZE);
  for (const [i, r] of answer.results.entries()) {
    assert.ok(r.ok, `slice ${i} of ${expected}: ${r.error}`);
    assert.ok(r.stored, `slice ${i}: the stored bytes differ from the slice`);
  }
  assert.equal(answer.results.length, expected, 'every slice uploaded');
}

/** Asserts on the answer of the `past-4-gib` check. */
export function assertPast4Gib(assert, answer) {
  assert.equal(answer.size, SPARSE_SIZE, 'File.size of a file over 4 GiB');
  assert.ok(answer.read.ok, `reading a slice past 4 GiB: ${answer.read.error}`);
  assert.equal(answer.read.length, MARK_LENGTH);
  assert.deepEqual(answer.read.firstBytes, Array.from(markBytes().subarray(0, 4)), 'the slice holds the marker');
  assert.ok(answer.upload.ok, `uploading a slice past 4 GiB: ${answer.upload.error}`);
  assert.ok(answer.upload.stored, 'the stored slice differs from the marker');
}
