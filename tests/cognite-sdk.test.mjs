// The real `@cognite/sdk` (pinned in package.json) against Stowage's Cognite Files API shape.
// Needs a running server: STOWAGE_URL (e.g. http://127.0.0.1:8080), STOWAGE_APP (the Cognite
// "project", default `demo`) and STOWAGE_KEY (sent as `Authorization: Bearer`, default `demo-key`).
// Every file this run makes lives under a run-unique directory and externalId prefix, so runs
// against a server with older data do not see each other. docs/cognite-sdk-wire.md lists what
// the SDK sends for each call here.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CogniteClient, CogniteError, CogniteMultiError } from '@cognite/sdk';

const BASE_URL = process.env.STOWAGE_URL;
const APP = process.env.STOWAGE_APP || 'demo';
const KEY = process.env.STOWAGE_KEY || 'demo-key';
const RUN = `sdk-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const DIR = `/${RUN}`;
const MIB = 1024 * 1024;
/** Larger than the 5 MiB Cognite (and S3) need for every part but the last. */
const PART = 5 * MIB + 17;
/** The largest id Cognite hands out (2^53 - 1): never one of ours in a fresh data directory. */
const UNKNOWN_ID = 9007199254740991;

const makeClient = (key = KEY) =>
  new CogniteClient({ appId: 'stowage-test', project: APP, baseUrl: BASE_URL, oidcTokenProvider: async () => key });
let client;
const created = [];

before(async () => {
  if (!BASE_URL) {
    throw new Error('STOWAGE_URL is not set: start stowage-devserver and set STOWAGE_URL=http://127.0.0.1:PORT');
  }
  try {
    await fetch(BASE_URL, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new Error(`Stowage is not reachable at STOWAGE_URL=${BASE_URL} (${why}): start stowage-devserver first`);
  }
  client = makeClient();
});

after(async () => {
  // Best effort: a failed test may have deleted some already, so one by one.
  for (const id of created) await client?.files.delete([{ id }]).catch(() => {});
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sortedIds = (files) => files.map((f) => f.id).sort((a, b) => a - b);
const sortNumbers = (list) => [...list].sort((a, b) => a - b);

/** `files.upload` and remember the id for the cleanup. */
async function upload(info, content, overwrite = false, waitUntilAcknowledged = false) {
  const file = await client.files.upload(info, content, overwrite, waitUntilAcknowledged);
  if (!created.includes(file.id)) created.push(file.id);
  return file;
}

/** The bytes behind a file's download link, fetched without credentials as Cognite's links allow. */
async function download(identity) {
  const links = await client.files.getDownloadUrls([identity]);
  assert.equal(links.length, 1);
  const response = await fetch(links[0].downloadUrl);
  assert.equal(response.status, 200, `GET ${links[0].downloadUrl}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Runs `promise`, expects it to fail, and returns the error for the caller to inspect. */
async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

/** Every page of a `files.list` query, followed through `nextCursor` by the SDK. */
const listAll = (filter, limit = 1000) => client.files.list({ filter, limit }).autoPagingToArray({ limit: -1 });

test('upload with content keeps a non-ASCII name and metadata; the download link gives the bytes back', async () => {
  const name = 'Überraschung – 日本語 📄 report.txt';
  const metadata = { 'clé': 'välue ✓', plain: 'x', empty: '' };
  const bytes = Buffer.from(`héllo wörld\n${RUN}\n`, 'utf8');
  const file = await upload(
    { externalId: `${RUN}-content`, name, directory: `${DIR}/docs`, source: 'sdk-test', mimeType: 'text/plain', metadata },
    bytes,
  );
  assert.equal(typeof file.id, 'number');
  assert.ok(Number.isSafeInteger(file.id) && file.id >= 1, `id ${file.id}`);
  assert.equal(file.name, name);
  assert.equal(file.externalId, `${RUN}-content`);
  assert.equal(file.directory, `${DIR}/docs`);
  assert.equal(file.source, 'sdk-test');
  assert.equal(file.mimeType, 'text/plain');
  assert.deepEqual(file.metadata, metadata);
  assert.ok(file.createdTime instanceof Date && !Number.isNaN(file.createdTime.getTime()));
  assert.ok(file.lastUpdatedTime instanceof Date);
  assert.match(file.uploadUrl, /^https?:\/\//, 'uploadUrl is absolute');

  const [stored] = await client.files.retrieve([{ id: file.id }]);
  assert.equal(stored.uploaded, true, 'uploaded once the SDK PUT the content');
  assert.ok(stored.uploadedTime instanceof Date, 'uploadedTime is set');
  assert.ok(stored.uploadedTime >= stored.createdTime);
  assert.equal(stored.uploadUrl, undefined, 'byids answers no uploadUrl');
  assert.equal(stored.name, name);
  assert.deepEqual(stored.metadata, metadata);

  assert.deepEqual(await download({ id: file.id }), bytes);
  const [byExternal] = await client.files.getDownloadUrls([{ externalId: `${RUN}-content` }]);
  assert.equal(byExternal.externalId, `${RUN}-content`, 'the link echoes the identity it was asked by');
  assert.match(byExternal.downloadUrl, /^https?:\/\//);
});

test('upload with waitUntilAcknowledged answers the uploaded record', async () => {
  const bytes = randomBytes(4096);
  const file = await upload({ name: 'acknowledged.bin', directory: `${DIR}/ack` }, bytes, false, true);
  assert.equal(file.uploaded, true);
  assert.ok(file.uploadedTime instanceof Date);
  assert.equal(file.mimeType, undefined, 'no mimeType was given, none is invented');
  assert.deepEqual(await download({ id: file.id }), bytes);
});

test('upload without content, then a plain PUT to uploadUrl', async () => {
  const file = await upload({ externalId: `${RUN}-later`, name: 'later.bin', directory: `${DIR}/later`, mimeType: 'application/octet-stream' });
  assert.equal(file.uploaded, false);
  assert.equal(file.uploadedTime, undefined);
  assert.match(file.uploadUrl, /^https?:\/\//);
  const [pending] = await client.files.retrieve([{ externalId: `${RUN}-later` }]);
  assert.equal(pending.uploaded, false);
  assert.equal(pending.uploadedTime, undefined);
  const linkError = await failure(client.files.getDownloadUrls([{ id: file.id }]));
  assert.equal(linkError.status, 400, 'no download link before the content is there');

  const bytes = randomBytes(70_000);
  const put = await fetch(file.uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
  assert.ok(put.ok, `PUT uploadUrl answered ${put.status}`);
  const [done] = await client.files.retrieve([{ id: file.id }]);
  assert.equal(done.uploaded, true);
  assert.ok(done.uploadedTime instanceof Date);
  assert.ok(done.uploadedTime >= done.createdTime);
  assert.deepEqual(await download({ externalId: `${RUN}-later` }), bytes);
});

test('retrieve by id and externalId in request order; ignoreUnknownIds; unknown ids give 400 with missing', async () => {
  const a = await upload({ externalId: `${RUN}-r-a`, name: 'a.txt', directory: `${DIR}/retrieve` }, 'A');
  const b = await upload({ externalId: `${RUN}-r-b`, name: 'b.txt', directory: `${DIR}/retrieve` }, 'B');
  const got = await client.files.retrieve([{ externalId: `${RUN}-r-b` }, { id: a.id }]);
  assert.deepEqual(got.map((f) => f.id), [b.id, a.id]);
  assert.deepEqual(got.map((f) => f.name), ['b.txt', 'a.txt']);

  const some = await client.files.retrieve([{ id: a.id }, { externalId: `${RUN}-nope` }, { id: UNKNOWN_ID }], { ignoreUnknownIds: true });
  assert.deepEqual(some.map((f) => f.id), [a.id]);

  const err = await failure(client.files.retrieve([{ id: a.id }, { externalId: `${RUN}-nope` }, { id: UNKNOWN_ID }]));
  // byids goes through the SDK's chunking, which wraps the CogniteError of each chunk.
  assert.ok(err instanceof CogniteMultiError, `got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, 400);
  assert.ok(err.errors[0] instanceof CogniteError, 'the envelope parsed into a CogniteError');
  assert.equal(err.errors[0].status, 400);
  assert.equal(typeof err.errors[0].errorMessage, 'string');
  const missing = [...err.missing].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  assert.deepEqual(missing, [{ externalId: `${RUN}-nope` }, { id: UNKNOWN_ID }]);
});

test('a second upload with the same externalId is refused with 409 and duplicated', async () => {
  const externalId = `${RUN}-dup`;
  const first = await upload({ externalId, name: 'one.txt', directory: `${DIR}/dup` }, 'one');
  const err = await failure(upload({ externalId, name: 'two.txt', directory: `${DIR}/dup` }, 'two'));
  assert.ok(err instanceof CogniteError, `got ${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.status, 409);
  assert.deepEqual(err.duplicated, [{ externalId }]);
  const [still] = await client.files.retrieve([{ externalId }]);
  assert.equal(still.id, first.id);
  assert.equal(still.name, 'one.txt');
  assert.deepEqual(await download({ id: first.id }), Buffer.from('one'));
});

test('overwrite by externalId replaces the fields at once and the content only after the new upload', async () => {
  const externalId = `${RUN}-overwrite`;
  const v1 = await upload(
    { externalId, name: 'v1.txt', directory: `${DIR}/ow`, mimeType: 'text/plain', metadata: { v: '1', old: 'yes' }, assetIds: [11, 12] },
    'version one',
    false,
    true,
  );
  const v2 = await upload({ externalId, name: 'v2.txt', directory: `${DIR}/ow`, mimeType: 'text/plain', metadata: { v: '2' } }, undefined, true);
  assert.equal(v2.id, v1.id, 'same file');
  assert.equal(v2.name, 'v2.txt');
  assert.deepEqual(v2.metadata, { v: '2' }, 'metadata given is replaced whole');
  assert.deepEqual(sortNumbers(v2.assetIds ?? []), [11, 12], 'assetIds not given are kept');
  assert.match(v2.uploadUrl, /^https?:\/\//);

  const [between] = await client.files.retrieve([{ externalId }]);
  assert.equal(between.name, 'v2.txt');
  assert.equal(between.uploaded, true, 'the old content is still there');
  assert.deepEqual(await download({ externalId }), Buffer.from('version one'));

  const put = await fetch(v2.uploadUrl, { method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body: 'version two' });
  assert.ok(put.ok, `PUT uploadUrl answered ${put.status}`);
  assert.deepEqual(await download({ externalId }), Buffer.from('version two'));
  const [after] = await client.files.retrieve([{ id: v1.id }]);
  assert.equal(after.uploaded, true);
  assert.ok(after.uploadedTime >= between.uploadedTime);
});

test('list filters: directoryPrefix, mimeType, metadata, uploaded, externalIdPrefix, createdTime', async () => {
  const dir = `${DIR}/list`;
  const f1 = await upload(
    { externalId: `${RUN}-list-1`, name: 'one.txt', directory: `${dir}/a`, mimeType: 'text/plain', metadata: { kind: 'report', n: '1' } },
    'one',
  );
  await sleep(15);
  const f2 = await upload({ externalId: `${RUN}-list-2`, name: 'two.png', directory: `${dir}/a/deep`, mimeType: 'image/png', metadata: { kind: 'photo' } });
  await sleep(15);
  const f3 = await upload(
    { externalId: `${RUN}-other-3`, name: 'three.txt', directory: `${dir}/b`, mimeType: 'text/plain', metadata: { kind: 'report', n: '3' } },
    'three',
  );
  const [r1, r2, r3] = await client.files.retrieve([{ id: f1.id }, { id: f2.id }, { id: f3.id }]);
  assert.ok(r1.createdTime < r2.createdTime && r2.createdTime < r3.createdTime, 'creation times increase');

  const ids = async (filter) => sortedIds(await listAll(filter));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/` }), sortedIds([f1, f2, f3]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/a` }), sortedIds([f1, f2]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, mimeType: 'text/plain' }), sortedIds([f1, f3]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, metadata: { kind: 'report' } }), sortedIds([f1, f3]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, metadata: { kind: 'report', n: '3' } }), sortedIds([f3]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, uploaded: false }), sortedIds([f2]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, uploaded: true }), sortedIds([f1, f3]));
  assert.deepEqual(await ids({ externalIdPrefix: `${RUN}-list-` }), sortedIds([f1, f2]));
  assert.deepEqual(await ids({ name: 'two.png', directoryPrefix: `${dir}/` }), sortedIds([f2]));
  // Dates go out as milliseconds; both ends of a range are inclusive.
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, createdTime: { min: r2.createdTime } }), sortedIds([f2, f3]));
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, createdTime: { max: r2.createdTime } }), sortedIds([f1, f2]));
  assert.deepEqual(
    await ids({ directoryPrefix: `${dir}/`, createdTime: { min: r2.createdTime.getTime(), max: r2.createdTime.getTime() } }),
    sortedIds([f2]),
  );
  assert.deepEqual(await ids({ directoryPrefix: `${dir}/`, createdTime: { max: new Date(r1.createdTime.getTime() - 1) } }), []);
});

test('list pages through nextCursor with no gaps or repeats', async () => {
  const dir = `${DIR}/paging`;
  const made = [];
  for (let i = 0; i < 23; i += 1) {
    made.push(await upload({ externalId: `${RUN}-page-${String(i).padStart(2, '0')}`, name: `p${i}.bin`, directory: dir }));
  }
  const filter = { directoryPrefix: dir };

  const first = await client.files.list({ filter, limit: 5 });
  assert.equal(first.items.length, 5);
  assert.equal(typeof first.nextCursor, 'string');
  assert.equal(typeof first.next, 'function');
  const seen = [];
  let page = first;
  let pages = 0;
  for (;;) {
    pages += 1;
    assert.ok(page.items.length <= 5, `page ${pages} has ${page.items.length} items`);
    seen.push(...page.items.map((f) => f.id));
    if (!page.next) break;
    assert.ok(pages < 20, 'the cursor ends');
    page = await page.next();
  }
  assert.equal(page.nextCursor, undefined, 'the last page has no nextCursor');
  assert.equal(new Set(seen).size, seen.length, 'no file twice');
  assert.deepEqual(sortNumbers(seen), sortedIds(made), 'every file once');
  assert.ok(pages >= 5, `23 files in pages of 5 took ${pages} pages`);

  const all = await client.files.list({ filter, limit: 7 }).autoPagingToArray({ limit: -1 });
  assert.deepEqual(sortedIds(all), sortedIds(made));
  const capped = await client.files.list({ filter, limit: 7 }).autoPagingToArray({ limit: 10 });
  assert.equal(capped.length, 10);

  const iterated = [];
  for await (const file of client.files.list({ filter, limit: 4 })) iterated.push(file.id);
  assert.deepEqual(sortNumbers(iterated), sortedIds(made));
});

test('update: set, setNull, add and remove', async () => {
  const file = await upload(
    {
      externalId: `${RUN}-upd`,
      name: 'update.txt',
      directory: `${DIR}/upd`,
      source: 'camera',
      mimeType: 'text/plain',
      metadata: { a: '1', b: '2' },
      assetIds: [1, 2],
    },
    'u',
  );
  const when = new Date('2021-03-04T05:06:07.089Z');
  const [changed] = await client.files.update([
    {
      id: file.id,
      update: {
        metadata: { add: { c: '3', b: 'two' }, remove: ['a'] },
        source: { setNull: true },
        assetIds: { add: [3], remove: [1] },
        mimeType: { set: 'text/csv' },
        directory: { set: `${DIR}/upd/moved` },
        sourceCreatedTime: { set: when },
        dataSetId: { set: 42 },
        labels: { add: [{ externalId: 'red' }, { externalId: 'blue' }] },
      },
    },
  ]);
  assert.equal(changed.id, file.id);
  assert.deepEqual(changed.metadata, { b: 'two', c: '3' });
  assert.equal(changed.source, undefined);
  assert.deepEqual(sortNumbers(changed.assetIds), [2, 3]);
  assert.equal(changed.mimeType, 'text/csv');
  assert.equal(changed.directory, `${DIR}/upd/moved`);
  assert.ok(changed.sourceCreatedTime instanceof Date);
  assert.equal(changed.sourceCreatedTime.getTime(), when.getTime());
  assert.equal(changed.dataSetId, 42);
  assert.deepEqual(changed.labels.map((l) => l.externalId).sort(), ['blue', 'red']);
  assert.ok(changed.lastUpdatedTime >= file.lastUpdatedTime);
  assert.equal(changed.name, 'update.txt', 'fields not named are kept');

  const [again] = await client.files.update([
    {
      externalId: `${RUN}-upd`,
      update: {
        externalId: { set: `${RUN}-upd-renamed` },
        metadata: { set: { only: 'this' } },
        assetIds: { set: [7] },
        sourceCreatedTime: { setNull: true },
        dataSetId: { setNull: true },
        labels: { remove: [{ externalId: 'red' }] },
      },
    },
  ]);
  assert.equal(again.externalId, `${RUN}-upd-renamed`);
  assert.deepEqual(again.metadata, { only: 'this' });
  assert.deepEqual(again.assetIds, [7]);
  assert.equal(again.sourceCreatedTime, undefined);
  assert.equal(again.dataSetId, undefined);
  assert.deepEqual(again.labels, [{ externalId: 'blue' }]);

  const [stored] = await client.files.retrieve([{ externalId: `${RUN}-upd-renamed` }]);
  assert.equal(stored.id, file.id);
  assert.deepEqual(stored.metadata, { only: 'this' });
  const gone = await failure(client.files.retrieve([{ externalId: `${RUN}-upd` }]));
  assert.equal(gone.status, 400);
  assert.deepEqual(gone.missing, [{ externalId: `${RUN}-upd` }]);

  const unknown = await failure(client.files.update([{ id: UNKNOWN_ID, update: { source: { set: 'x' } } }]));
  assert.ok(unknown instanceof CogniteMultiError);
  assert.equal(unknown.status, 400);
  assert.deepEqual(unknown.missing, [{ id: UNKNOWN_ID }]);
});

test('search by name, within a filter', async () => {
  const dir = `${DIR}/search`;
  const report = await upload({ name: 'quarterly report.pdf', directory: dir, mimeType: 'application/pdf' });
  const photo = await upload({ name: 'holiday photo.jpg', directory: dir, mimeType: 'image/jpeg' });
  const found = await client.files.search({ filter: { directoryPrefix: dir }, search: { name: 'quarterly' } });
  const ids = found.map((f) => f.id);
  assert.ok(ids.includes(report.id), 'the report matches');
  assert.ok(!ids.includes(photo.id), 'the photo does not');
  const filtered = await client.files.search({ filter: { directoryPrefix: dir, mimeType: 'image/jpeg' }, search: { name: 'photo' }, limit: 10 });
  assert.deepEqual(filtered.map((f) => f.id), [photo.id]);
});

test('aggregate counts the files a filter selects', async () => {
  const dir = `${DIR}/count`;
  await upload({ name: 'c1', directory: dir }, 'x');
  await upload({ name: 'c2', directory: dir }, 'y');
  await upload({ name: 'c3', directory: dir });
  assert.deepEqual(await client.files.aggregate({ filter: { directoryPrefix: dir } }), [{ count: 3 }]);
  assert.deepEqual(await client.files.aggregate({ filter: { directoryPrefix: dir, uploaded: true } }), [{ count: 2 }]);
  assert.deepEqual(await client.files.aggregate({ filter: { directoryPrefix: `${dir}/none` } }), [{ count: 0 }]);
});

test('delete by id and externalId; unknown ids give 400 with missing', async () => {
  const a = await upload({ externalId: `${RUN}-del-a`, name: 'a', directory: `${DIR}/del` }, 'a');
  const b = await upload({ externalId: `${RUN}-del-b`, name: 'b', directory: `${DIR}/del` }, 'b');
  assert.deepEqual(await client.files.delete([{ id: a.id }, { externalId: `${RUN}-del-b` }]), {});
  assert.deepEqual(await client.files.retrieve([{ id: a.id }, { id: b.id }], { ignoreUnknownIds: true }), []);
  assert.deepEqual(await listAll({ directoryPrefix: `${DIR}/del` }), []);
  const link = await failure(client.files.getDownloadUrls([{ id: a.id }]));
  assert.ok(link instanceof CogniteError);
  assert.equal(link.status, 400);
  assert.deepEqual(link.missing, [{ id: a.id }]);

  const err = await failure(client.files.delete([{ id: a.id }]));
  assert.ok(err instanceof CogniteMultiError);
  assert.equal(err.status, 400);
  assert.deepEqual(err.missing, [{ id: a.id }]);
});

test('multipart upload session: parts out of order, completed by the SDK after the last part', async () => {
  const parts = [randomBytes(PART), randomBytes(PART), randomBytes(1000)];
  const session = await client.files.multipartUploadSession(
    { externalId: `${RUN}-multi`, name: 'multi.bin', directory: `${DIR}/multi`, mimeType: 'application/octet-stream' },
    parts.length,
  );
  const init = session.multiPartFileUploadResponse;
  created.push(init.id);
  assert.equal(typeof init.id, 'number');
  assert.equal(init.externalId, `${RUN}-multi`);
  assert.equal(init.uploaded, false);
  assert.equal(typeof init.uploadId, 'string');
  assert.equal(init.uploadUrls.length, parts.length);
  assert.equal(new Set(init.uploadUrls).size, parts.length, 'one URL per part');
  for (const url of init.uploadUrls) assert.match(url, /^https?:\/\//);

  for (const index of [2, 0]) {
    const answer = await session.uploadPart(index, parts[index]);
    assert.ok(answer && (answer.status === 200 || answer.status === 201), `part ${index}: ${JSON.stringify(answer)}`);
  }
  assert.deepEqual(session.getNotCompletedParts(), [1]);
  assert.equal(session.getFinished(), false);
  const last = await session.uploadPart(1, parts[1]);
  assert.ok(last && (last.status === 200 || last.status === 201), `part 1: ${JSON.stringify(last)}`);
  assert.equal(session.getFinished(), true, 'completemultipartupload answered 200');

  const [file] = await client.files.retrieve([{ id: init.id }]);
  assert.equal(file.uploaded, true);
  assert.ok(file.uploadedTime instanceof Date);
  const bytes = await download({ externalId: `${RUN}-multi` });
  assert.equal(bytes.length, PART * 2 + 1000);
  assert.ok(bytes.equals(Buffer.concat(parts)), 'parts joined in URL order');
});

test('field limits answer 400 in the Cognite error envelope', async () => {
  const long = await failure(upload({ name: 'n'.repeat(257), directory: `${DIR}/limits` }));
  assert.ok(long instanceof CogniteError, `got ${long?.constructor?.name}: ${long?.message}`);
  assert.equal(long.status, 400);
  assert.match(long.errorMessage, /name/);
  const relative = await failure(upload({ name: 'x', directory: 'not/absolute' }));
  assert.equal(relative.status, 400);
  assert.match(relative.errorMessage, /directory/);
  const metadata = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']));
  const many = await failure(upload({ name: 'x', directory: `${DIR}/limits`, metadata }));
  assert.equal(many.status, 400);
  assert.match(many.errorMessage, /metadata/);
  const limit = await failure(client.files.list({ filter: { directoryPrefix: DIR }, limit: 1001 }));
  assert.equal(limit.status, 400);
  assert.match(limit.errorMessage, /limit/);
  assert.deepEqual(await listAll({ directoryPrefix: `${DIR}/limits` }), [], 'nothing was made');
});

test('a wrong key is refused with 401', async () => {
  const err = await failure(makeClient('not-the-key').files.list({ filter: { directoryPrefix: DIR }, limit: 1 }));
  assert.equal(err.status, 401);
});
