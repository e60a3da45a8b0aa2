// Image variants through the client (issue 13), the same check in both page tests (Playwright and
// WebDriver): the page draws a 640×480 PNG on a canvas, uploads it with the built client in
// www/pkg/, builds URLs with `imageUrl`, loads them into an <img> and reads the natural size.

/**
 * Runs in the page (a function, so Playwright's `evaluate` and a module script of the WebDriver
 * test can both send its source). Answers a plain object describing what happened; the Node side
 * asserts on it with `assertImageVariants`.
 */
export async function inPageImageVariants({ pkgUrl, baseUrl, appId, apiKey, dir }) {
  const m = await import(`${pkgUrl}?images`);
  await m.default();
  const files = new m.StorageClient({ baseUrl, appId, apiKey });
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 480;
  const g = canvas.getContext('2d');
  g.fillStyle = '#2a6';
  g.fillRect(0, 0, 640, 480);
  g.fillStyle = '#fff';
  g.fillRect(500, 100, 100, 100);
  const png = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  await files.upload(png, dir, true, { name: 'photo ü.png' });
  const load = (src) =>
    new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve({ w: img.naturalWidth, h: img.naturalHeight });
      img.onerror = () => resolve({ error: src });
      img.src = src;
    });
  const path = `${dir}/photo ü.png`;
  const refused = (f) => {
    try {
      f();
      return null;
    } catch (e) {
      return e.name;
    }
  };
  return {
    url: files.imageUrl(path, { width: 128, fit: 'contain', quality: 70 }),
    width: await load(files.imageUrl(path, { width: 128 })),
    square: await load(files.imageUrl(path, { width: 256, height: 256, fit: 'smart' })),
    png: await load(files.imageUrl(path, { width: 400, format: 'png' })),
    // Off the allowlist: the server refuses the unsigned URL, so the image fails to load.
    offList: await load(files.imageUrl(path, { width: 300 })),
    badFit: refused(() => files.imageUrl(path, { fit: 'crop' })),
    badQuality: refused(() => files.imageUrl(path, { quality: 5 })),
    badKey: refused(() => files.imageUrl(path, { widht: 5 })),
  };
}

/** The arguments of `inPageImageVariants`: the demo app of the server at `serverUrl`, folder `/folder`. */
export function imageVariantsArgs({ serverUrl, folder }) {
  return { pkgUrl: `${serverUrl}/pkg/stowage.js`, baseUrl: serverUrl, appId: 'demo', apiKey: 'demo-key', dir: `/${folder}` };
}

/** Asserts on the answer of `inPageImageVariants` run with `imageVariantsArgs({ serverUrl, folder })`. */
export function assertImageVariants(assert, got, { serverUrl, folder }) {
  assert.equal(got.url, `${serverUrl}/img/demo/unsafe/fit-in/128x0/filters:quality(70)/${folder}/photo%20%C3%BC.png`);
  assert.deepEqual(got.width, { w: 128, h: 96 });
  assert.deepEqual(got.square, { w: 256, h: 256 });
  assert.deepEqual(got.png, { w: 400, h: 300 });
  assert.ok(got.offList.error, 'an unsigned size off the allowlist does not load');
  assert.deepEqual([got.badFit, got.badQuality, got.badKey], ['TypeError', 'TypeError', 'TypeError']);
}
