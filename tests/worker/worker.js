// The Stowage client in a module worker, for tests/worker.test.mjs: the worker imports the
// built package, configures it from the page's first message, then runs one client call per
// message and answers with postMessage. Every message from the page is `{id, op, ...}`; every
// answer carries the same `id` and a `type`:
//   - `progress` `{loaded, total}`: an `onProgress` call of the running operation, forwarded;
//   - `started` `{uploadId}`: a `startUpload` task knows its upload id;
//   - `result` `{value}`: the operation resolved (a `download` answers the Blob itself);
//   - `error` `{error: {name, code, status, message}}`: it rejected.
// Files arrive as `File`s posted by the page (structured clone); nothing here touches `window`.

import init, { configure, download, fileUrl, saveAs, startUpload, upload, uploadMultipart } from '../pkg/stowage.js';

const MIB = 1024 * 1024;
const ready = init();

/** The fields of a rejection the test compares (a `StorageError` or any other `Error`). */
const describe = (err) => ({
  name: err?.name,
  code: err?.code,
  status: err?.status,
  message: String(err?.message ?? err),
});

/** An `onProgress` that forwards every call to the page as a `progress` message. */
const forward = (id, also = () => {}) => (loaded, total) => {
  postMessage({ id, type: 'progress', loaded, total });
  also(loaded, total);
};

/** Posts a `started` message once the task has its upload id; answers that id. */
async function announce(id, task) {
  while (task.uploadId === undefined && task.state === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (task.uploadId !== undefined) postMessage({ id, type: 'started', uploadId: task.uploadId });
  return task.uploadId;
}

const operations = {
  /** Sets the client the module-level functions use; answers what kind of global runs this. */
  configure({ options }) {
    configure(options);
    return {
      scope: self.constructor.name,
      hasWindow: typeof window !== 'undefined',
      hasDocument: typeof document !== 'undefined',
      userAgent: navigator.userAgent,
    };
  },

  /** One `upload()` of the posted file, progress forwarded. */
  upload({ id, file, dir }) {
    return upload(file, dir, false, { onProgress: forward(id) });
  },

  /** `uploadMultipart()` of the posted file, progress forwarded. */
  uploadMultipart({ id, file, dir, options }) {
    return uploadMultipart(file, dir, { ...options, onProgress: forward(id) });
  },

  /** `startUpload()` of the posted file: `started` once the upload id is known, then `task.done`. */
  async startUpload({ id, file, dir, options }) {
    const task = startUpload(file, dir, { ...options, onProgress: forward(id) });
    await announce(id, task);
    const value = await task.done;
    return { ...value, state: task.state, uploadId: task.uploadId };
  },

  /** `download()`; the Blob goes back to the page as it is (structured clone). */
  download({ id, path }) {
    return download(path, { onProgress: forward(id) });
  },

  /** `saveAs()`, which needs a page to click a link in: rejects here. */
  saveAs({ path }) {
    return saveAs(path);
  },

  /**
   * An `upload()` of a `sizeMiB` MiB Blob made here, aborted through an `AbortSignal` at its
   * first progress report before the end, and 40 ms in at the latest (WebKit reports its first
   * upload progress late). Big enough that the abort lands while the body is on its way: a body
   * that has wholly left is a complete upload to the server. Answers the rejection, the
   * progress seen and the URL the file would have had.
   */
  async abortUpload({ id, dir, name, sizeMiB }) {
    const chunk = new Uint8Array(MIB);
    for (let i = 0; i < chunk.length; i += 1) chunk[i] = (i * 31 + 7) & 0xff;
    const blob = new Blob(Array.from({ length: sizeMiB }, () => chunk));
    const controller = new AbortController();
    const seen = [];
    const timer = setTimeout(() => controller.abort(), 40);
    const onProgress = forward(id, (loaded, total) => {
      seen.push([loaded, total]);
      if (loaded < total) controller.abort();
    });
    try {
      const url = await upload(blob, dir, false, { name, onProgress, signal: controller.signal });
      return { finished: url, seen };
    } catch (err) {
      return { rejected: describe(err), seen, url: fileUrl(`${dir}/${name}`) };
    } finally {
      clearTimeout(timer);
    }
  },

  /**
   * A `startUpload()` of the posted file with an `AbortSignal`, aborted once a part's worth of
   * bytes has been reported. Answers the rejection of `task.done`, the task's state and upload
   * id, and the URL the file would have had.
   */
  async abortMultipart({ id, file, dir, options }) {
    const controller = new AbortController();
    const onProgress = forward(id, (loaded) => {
      if (loaded >= options.partSize) controller.abort();
    });
    const task = startUpload(file, dir, { ...options, onProgress, signal: controller.signal });
    const uploadId = await announce(id, task);
    try {
      const value = await task.done;
      return { finished: value, uploadId };
    } catch (err) {
      return { rejected: describe(err), state: task.state, uploadId, url: fileUrl(`${dir}/${file.name}`) };
    }
  },
};

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    await ready;
    const run = operations[op];
    if (!run) throw new TypeError(`unknown operation ${JSON.stringify(op)}`);
    postMessage({ id, type: 'result', value: await run(data) });
  } catch (err) {
    postMessage({ id, type: 'error', error: describe(err) });
  }
};
