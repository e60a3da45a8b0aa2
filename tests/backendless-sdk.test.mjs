// The real `backendless` SDK (pinned in package.json) against Stowage's Backendless-shaped users
// and files permissions: UserService register, login, logout, isValidLogin; Files.upload,
// exists, listing and getFileCount; Files.Permissions.{READ,WRITE}.grantFor… / denyFor…. Each
// effect is read back through plain fetch as a second user, an anonymous caller or the owner.
//
// Server: STOWAGE_URL (set by tests/run.mjs to a server started by tests/server.mjs); when unset
// this file starts the built target/release/stowage-devserver itself. Either way the server has
// the apps of tests/server.mjs: `locked` (private defaults) and `demo` (open). Every file lives
// under a run-unique directory and every user has a run-unique email, so runs against a server
// with older data do not see each other.
//
// In Node the SDK uploads with the `form-data` package: a Buffer or a file stream works, a Blob
// does not (form-data calls `source.on`), whatever the server does.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Backendless from 'backendless';
import { ADMIN_KEY, API_KEY, APP_ID, ARTIFACTS, LOCKED_APP, startServer } from './server.mjs';

const RUN = `bl-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
/** The SDK names paths from the files root without a leading slash. */
const DIR = RUN;
const PASSWORD = 'correct horse battery';
const LOCKED = LOCKED_APP;
const DEMO = { appId: APP_ID, apiKey: API_KEY, adminKey: ADMIN_KEY };

let ownServer;
let baseUrl;
let workDir;

before(async () => {
  baseUrl = process.env.STOWAGE_URL;
  if (!baseUrl) {
    ownServer = await startServer({ logFile: join(ARTIFACTS, 'devserver-backendless-sdk.log') });
    baseUrl = ownServer.url;
  }
  try {
    await fetch(baseUrl, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const why = err.cause?.code ?? err.cause?.message ?? err.message;
    throw new Error(`Stowage is not reachable at STOWAGE_URL=${baseUrl} (${why}): start stowage-devserver first`);
  }
  // The SDK's global instance, set up as its documentation says; the users below get
  // standalone instances of their own so that several can be signed in at once.
  Backendless.serverURL = baseUrl;
  Backendless.initApp(LOCKED.appId, LOCKED.apiKey);
  workDir = await mkdtemp(join(tmpdir(), 'stowage-backendless-'));
});

after(async () => {
  // Best effort: the admin removes this run's files from both apps.
  if (baseUrl) {
    for (const app of [LOCKED, DEMO]) {
      await raw(app, 'DELETE', `files/${DIR}`, { token: app.adminKey }).catch(() => {});
    }
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
  await ownServer?.stop();
});

// ---------------------------------------------------------------- helpers

/** A standalone SDK instance for `app`, pointed at the server. */
const sdk = (app = LOCKED) =>
  Backendless.initApp({ appId: app.appId, apiKey: app.apiKey, serverURL: baseUrl, standalone: true });

/** `{baseUrl}/{appId}/{apiKey}`, the root every Backendless URL starts with. */
const appRoot = (app) => `${baseUrl}/${app.appId}/${app.apiKey}`;

let users = 0;
/** A fresh email for this run. */
const newEmail = (label) => `${RUN}-${label}-${(users += 1)}@example.com`;

/**
 * Registers and signs in a new user of `app` in a standalone SDK instance: `{ app, sdk, user, id,
 * token, email }`.
 */
async function signedIn(label, app = LOCKED) {
  const instance = sdk(app);
  const email = newEmail(label);
  await instance.UserService.register(new Backendless.User({ email, password: PASSWORD, name: label }));
  const user = await instance.UserService.login(email, PASSWORD);
  return { app, sdk: instance, user, id: user.objectId, token: user['user-token'], email };
}

/** A plain request under the app root; `token` goes in `user-token`. Answers status and body. */
async function raw(app, method, path, { token, json } = {}) {
  const headers = {};
  if (token) headers['user-token'] = token;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${appRoot(app)}/${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the bytes of a file
  }
  return { status: response.status, body, text };
}

/** A file's bytes as `token` (or anonymously) reads them: `{status, text}`. */
const read = (app, path, token) => raw(app, 'GET', `files/${path}`, { token });

/** Asserts that `token` (or the anonymous caller) reads `path` and gets `expected`. */
async function assertReads(app, path, token, expected, who) {
  const { status, text } = await read(app, path, token);
  assert.equal(status, 200, `${who} reads ${path}: ${text}`);
  assert.equal(text, expected, `${who} gets the bytes of ${path}`);
}

/** Asserts that `token` (or the anonymous caller) is refused `path` with 403 `{code: 4000}`. */
async function assertRefused(app, path, token, who) {
  const { status, body, text } = await read(app, path, token);
  assert.equal(status, 403, `${who} is refused ${path}: ${text}`);
  assert.equal(body.code, 4000, `${who}: ${text}`);
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

/** Asserts that an SDK call rejected with Backendless error `code` and HTTP `status`. */
async function assertRejects(promise, code, status) {
  const err = await failure(promise);
  assert.equal(err.code, code, `code of ${JSON.stringify({ message: err.message, status: err.status })}`);
  if (status !== undefined) assert.equal(err.status, status, err.message);
  return err;
}

/**
 * Runs `fn` and answers `[result, calls]`, where `calls` are the requests the SDK sent meanwhile
 * (`{method, url, headers, body}`), seen at backendless-request's `send`, which every SDK request
 * goes through. The requests themselves go out unchanged.
 */
async function recording(fn) {
  const Request = Backendless.Request;
  const send = Request.send;
  const calls = [];
  Request.send = (url, method, headers, body, ...rest) => {
    calls.push({ method, url, headers: { ...headers }, body });
    return send(url, method, headers, body, ...rest);
  };
  try {
    return [await fn(), calls];
  } finally {
    Request.send = send;
  }
}

/**
 * Calls a `Files.Permissions` method through `fn` and asserts the one request it sent:
 * `PUT {root}/files/permissions/{type}/{encodeURIComponent(path)}` with body `{permission, user}`
 * or `{permission, role}`, answered 200 with the rule.
 */
async function sendsRule(app, fn, { type, path, permission, user, role }) {
  const [answer, calls] = await recording(fn);
  assert.equal(calls.length, 1, `one request: ${JSON.stringify(calls.map((c) => c.url))}`);
  const [call] = calls;
  assert.equal(call.method, 'PUT');
  assert.equal(call.url, `${appRoot(app)}/files/permissions/${type}/${encodeURIComponent(path)}`);
  const subject = user !== undefined ? { user } : { role };
  assert.deepEqual(JSON.parse(call.body), { permission, ...subject });
  assert.equal(answer.type, type);
  assert.equal(answer.permission, permission);
  assert.equal(answer.path, `/${path}`);
  for (const [k, v] of Object.entries(subject)) assert.equal(answer[k], v);
  return answer;
}

/** The rules set on `path` itself, read back by `token` with plain fetch. */
async function rulesOn(app, path, token) {
  const { status, body, text } = await raw(app, 'GET', `files/permissions/${encodeURIComponent(path)}`, { token });
  assert.equal(status, 200, text);
  assert.ok(Array.isArray(body), text);
  return body.map(({ permission, type, user, role }) => ({ permission, type, ...(user ? { user } : { role }) }));
}

/** Uploads `text` to `path` (`dir/name.ext`) as `owner`; answers the file URL. */
async function uploadText(owner, path, text, overwrite = false) {
  const { fileURL } = await owner.sdk.Files.upload(Buffer.from(text), path, overwrite);
  assert.equal(fileURL, `${appRoot(owner.app)}/files/${path}`);
  return fileURL;
}

/** The names a `Files.listing` answer shows. */
const names = (entries) => entries.map((e) => e.name).sort();

// ---------------------------------------------------------------- users

test('register answers the user, not signed in; the same email again is 3033', async () => {
  const email = newEmail('register');
  const user = await Backendless.UserService.register(new Backendless.User({ email, password: PASSWORD, name: 'Régine' }));
  assert.ok(user instanceof Backendless.User, `a Backendless.User, got ${user?.constructor?.name}`);
  assert.equal(typeof user.objectId, 'string');
  assert.ok(user.objectId.length > 0);
  assert.equal(user.email, email);
  assert.equal(user.name, 'Régine');
  assert.equal(user.___class, 'Users');
  assert.equal(user.password, undefined, 'the password is not echoed');
  assert.equal(user['user-token'], undefined, 'registering does not sign in');
  assert.equal(Backendless.getCurrentUserToken(), null);

  // The account exists: plain login with it names the same user.
  const login = await raw(LOCKED, 'POST', 'users/login', { json: { login: email, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.objectId, user.objectId);
  await raw(LOCKED, 'GET', 'users/logout', { token: login.body['user-token'] });

  const again = await assertRejects(
    Backendless.UserService.register(new Backendless.User({ email, password: 'another password' })),
    3033,
    409,
  );
  assert.match(again.message, /exists/i);
  // The first password still signs in: the second registration changed nothing.
  const still = await raw(LOCKED, 'POST', 'users/login', { json: { login: email, password: PASSWORD } });
  assert.equal(still.status, 200, still.text);
  await raw(LOCKED, 'GET', 'users/logout', { token: still.body['user-token'] });
});

test('login answers the user with user-token; wrong password is 3003; logout kills the token', async () => {
  const app = sdk();
  const email = newEmail('login');
  const registered = await app.UserService.register(new Backendless.User({ email, password: PASSWORD, name: 'L' }));

  const wrong = sdk();
  await assertRejects(wrong.UserService.login(email, 'not the password'), 3003, 401);
  assert.equal(wrong.getCurrentUserToken(), null, 'a failed login signs no one in');
  assert.equal(await wrong.UserService.isValidLogin(), false);

  const user = await app.UserService.login(email, PASSWORD);
  assert.ok(user instanceof Backendless.User);
  assert.equal(user.objectId, registered.objectId);
  assert.equal(user.email, email);
  assert.ok(user.roles.includes('AuthenticatedUser'), `roles ${JSON.stringify(user.roles)}`);
  const token = user['user-token'];
  assert.match(token, /^[0-9a-f]{64}$/, 'a token of 256 bits in hex');
  assert.equal(app.getCurrentUserToken(), token);
  assert.equal(app.UserService.getCurrentUserId(), user.objectId);
  assert.equal(await app.UserService.isValidLogin(), true);
  assert.ok((await app.UserService.getUserRoles()).includes('AuthenticatedUser'));

  // The server knows the token too.
  assert.equal((await raw(LOCKED, 'GET', `users/isvalidusertoken/${token}`)).body, true);
  const roles = await raw(LOCKED, 'GET', 'users/userroles', { token });
  assert.equal(roles.status, 200, roles.text);
  assert.ok(roles.body.includes('AuthenticatedUser'));

  await app.UserService.logout();
  assert.equal(app.getCurrentUserToken(), null);
  assert.equal(await app.UserService.isValidLogin(), false);

  assert.equal((await raw(LOCKED, 'GET', `users/isvalidusertoken/${token}`)).body, false);
  for (const path of ['users/userroles', `files/${DIR}`]) {
    const dead = await raw(LOCKED, 'GET', path, { token });
    assert.equal(dead.status, 401, `${path} with the old token: ${dead.text}`);
    assert.equal(dead.body.code, 3064, `${path}: ${dead.text}`);
  }
});

test('isValidLogin answers false for a session logged out elsewhere; logout then clears it', async () => {
  const user = await signedIn('elsewhere');
  // Another device logs the same token out.
  const out = await raw(LOCKED, 'GET', 'users/logout', { token: user.token });
  assert.equal(out.status, 200, out.text);
  assert.equal(user.sdk.getCurrentUserToken(), user.token, 'the SDK still holds the token');

  // The SDK sends the dead token as `user-token` on this request as well.
  const [valid, calls] = await recording(() => user.sdk.UserService.isValidLogin());
  assert.equal(calls[0].headers['user-token'], user.token);
  assert.equal(valid, false);

  await assertRejects(user.sdk.UserService.logout(), 3064, 401);
  assert.equal(user.sdk.getCurrentUserToken(), null, 'the SDK drops a session the server calls dead');
});

// ---------------------------------------------------------------- upload

test('Files.upload as a signed-in user: a Buffer and a file stream; only the owner reads them', async () => {
  const owner = await signedIn('uploader');
  const other = await signedIn('other');
  const path = `${DIR}/upload/hello.txt`;
  const fileURL = await uploadText(owner, path, 'héllo from the SDK\n');
  await assertReads(LOCKED, path, owner.token, 'héllo from the SDK\n', 'the owner');
  await assertRefused(LOCKED, path, other.token, 'another user');
  await assertRefused(LOCKED, path, undefined, 'the anonymous caller');
  const byUrl = await fetch(fileURL, { headers: { 'user-token': owner.token } });
  assert.equal(byUrl.status, 200, 'the answered fileURL serves the file');
  assert.match(byUrl.headers.get('content-type') ?? '', /^text\/plain/);
  await byUrl.arrayBuffer();

  // No overwrite: the name is taken (6003); with overwrite the owner replaces the bytes.
  await assertRejects(owner.sdk.Files.upload(Buffer.from('second'), path, false), 6003, 409);
  await assertReads(LOCKED, path, owner.token, 'héllo from the SDK\n', 'the owner');
  await uploadText(owner, path, 'second version', true);
  await assertReads(LOCKED, path, owner.token, 'second version', 'the owner');

  // Another user may not replace it; the anonymous caller may not write in a locked app.
  await assertRejects(other.sdk.Files.upload(Buffer.from('taken over'), path, true), 4000, 403);
  await assertRejects(sdk().Files.upload(Buffer.from('anonymous'), `${DIR}/upload/anon.txt`), 4000, 403);
  await assertReads(LOCKED, path, owner.token, 'second version', 'the owner');
  assert.equal((await read(LOCKED, `${DIR}/upload/anon.txt`, owner.token)).status, 404);

  // A file stream: the SDK names the file after the stream's path.
  const bytes = randomBytes(200 * 1024);
  const local = join(workDir, 'streamed-file.bin');
  await writeFile(local, bytes);
  const streamed = await owner.sdk.Files.upload(createReadStream(local), `${DIR}/upload`);
  assert.equal(streamed.fileURL, `${appRoot(LOCKED)}/files/${DIR}/upload/streamed-file.bin`);
  const back = await fetch(streamed.fileURL, { headers: { 'user-token': owner.token } });
  assert.equal(back.status, 200);
  assert.ok(Buffer.from(await back.arrayBuffer()).equals(bytes), 'the streamed bytes come back');
});

// ---------------------------------------------------------------- permissions

test('Files.Permissions.READ for a user, a role and all users decide who reads a file', async () => {
  const owner = await signedIn('owner');
  const b = await signedIn('b');
  const c = await signedIn('c');
  const path = `${DIR}/perm/file.txt`;
  await uploadText(owner, path, 'permitted');
  const READ = owner.sdk.Files.Permissions.READ;

  await assertRefused(LOCKED, path, b.token, 'B before any grant');
  await assertRefused(LOCKED, path, c.token, 'C before any grant');

  await sendsRule(LOCKED, () => READ.grantForUser(b.id, path), { type: 'GRANT', path, permission: 'READ', user: b.id });
  await assertReads(LOCKED, path, b.token, 'permitted', 'B after the grant for B');
  await assertRefused(LOCKED, path, c.token, 'C, not named by the grant');
  await assertRefused(LOCKED, path, undefined, 'the anonymous caller');

  await sendsRule(LOCKED, () => READ.denyForUser(b.id, path), { type: 'DENY', path, permission: 'READ', user: b.id });
  await assertRefused(LOCKED, path, b.token, 'B after the deny for B');

  await sendsRule(LOCKED, () => READ.grantForRole('AuthenticatedUser', path), {
    type: 'GRANT',
    path,
    permission: 'READ',
    role: 'AuthenticatedUser',
  });
  await assertReads(LOCKED, path, c.token, 'permitted', 'C after the grant for AuthenticatedUser');
  await assertRefused(LOCKED, path, b.token, 'B: a deny for the user beats a grant for its role');
  await assertRefused(LOCKED, path, undefined, 'the anonymous caller, not an AuthenticatedUser');

  await sendsRule(LOCKED, () => READ.grantForAllUsers(path), { type: 'GRANT', path, permission: 'READ', user: '*' });
  await assertReads(LOCKED, path, undefined, 'permitted', 'the anonymous caller after the grant for all users');
  await assertReads(LOCKED, path, c.token, 'permitted', 'C');
  await assertRefused(LOCKED, path, b.token, 'B: a rule for the user comes before one for all users');

  // The owner reads the rules back; the deny replaced the grant for B.
  const rules = await rulesOn(LOCKED, path, owner.token);
  const key = (r) => `${r.type} ${r.permission} ${r.user ? `user ${r.user}` : `role ${r.role}`}`;
  assert.deepEqual(
    rules.map(key).sort(),
    [`DENY READ user ${b.id}`, 'GRANT READ role AuthenticatedUser', 'GRANT READ user *'].sort(),
  );
  await assertReads(LOCKED, path, owner.token, 'permitted', 'the owner, whatever the rules');
});

test('Files.Permissions.READ.denyForRole: within the role class a deny beats a grant', async () => {
  const owner = await signedIn('owner');
  const b = await signedIn('b');
  const c = await signedIn('c');
  // The admin gives C a second role.
  const role = `Blocked-${RUN}`;
  const assigned = await raw(LOCKED, 'POST', 'users/assignRole', {
    token: LOCKED.adminKey,
    json: { user: c.id, roleName: role },
  });
  assert.equal(assigned.status, 200, assigned.text);
  assert.ok((await c.sdk.UserService.getUserRoles()).includes(role), 'C holds the new role');

  const path = `${DIR}/roles/file.txt`;
  await uploadText(owner, path, 'by role');
  const READ = owner.sdk.Files.Permissions.READ;
  await sendsRule(LOCKED, () => READ.grantForRole('AuthenticatedUser', path), {
    type: 'GRANT',
    path,
    permission: 'READ',
    role: 'AuthenticatedUser',
  });
  await assertReads(LOCKED, path, b.token, 'by role', 'B');
  await assertReads(LOCKED, path, c.token, 'by role', 'C before the deny');

  await sendsRule(LOCKED, () => READ.denyForRole(role, path), { type: 'DENY', path, permission: 'READ', role });
  await assertRefused(LOCKED, path, c.token, 'C, denied by one role and granted by another');
  await assertReads(LOCKED, path, b.token, 'by role', 'B, without the denied role');

  // Denying the granted role itself replaces its grant.
  await sendsRule(LOCKED, () => READ.denyForRole('AuthenticatedUser', path), {
    type: 'DENY',
    path,
    permission: 'READ',
    role: 'AuthenticatedUser',
  });
  await assertRefused(LOCKED, path, b.token, 'B after the deny for AuthenticatedUser');
  await assertReads(LOCKED, path, owner.token, 'by role', 'the owner');
});

test('a permission change by a user without the right fails with 4000 and changes nothing', async () => {
  const owner = await signedIn('owner');
  const b = await signedIn('b');
  const path = `${DIR}/guarded/file.txt`;
  await uploadText(owner, path, 'guarded');

  await assertRejects(b.sdk.Files.Permissions.READ.grantForUser(b.id, path), 4000, 403);
  await assertRejects(b.sdk.Files.Permissions.READ.grantForAllUsers(path), 4000, 403);
  await assertRejects(b.sdk.Files.Permissions.WRITE.grantForUser(b.id, path), 4000, 403);
  await assertRejects(b.sdk.Files.Permissions.DELETE.grantForRole('AuthenticatedUser', path), 4000, 403);
  await assertRejects(sdk().Files.Permissions.READ.grantForAllUsers(path), 4000, 403);
  await assertRefused(LOCKED, path, b.token, 'B');
  await assertRefused(LOCKED, path, undefined, 'the anonymous caller');
  assert.deepEqual(await rulesOn(LOCKED, path, owner.token), [], 'no rule was set');

  // Being able to read a file is no right to change who writes or deletes it.
  await owner.sdk.Files.Permissions.READ.grantForUser(b.id, path);
  await assertReads(LOCKED, path, b.token, 'guarded', 'B after the owner granted READ');
  await assertRejects(b.sdk.Files.Permissions.WRITE.grantForUser(b.id, path), 4000, 403);
  await assertRejects(b.sdk.Files.Permissions.DELETE.grantForAllUsers(path), 4000, 403);
  await assertRejects(b.sdk.Files.upload(Buffer.from('replaced'), path, true), 4000, 403);
  await assertRejects(b.sdk.Files.remove(path), 4000, 403);
  await assertReads(LOCKED, path, owner.token, 'guarded', 'the owner');
  assert.deepEqual(await rulesOn(LOCKED, path, owner.token), [{ permission: 'READ', type: 'GRANT', user: b.id }]);

  // The admin may (its key goes in the user-token header).
  const admin = await raw(LOCKED, 'PUT', `files/permissions/GRANT/${encodeURIComponent(path)}`, {
    token: LOCKED.adminKey,
    json: { permission: 'READ', user: '*' },
  });
  assert.equal(admin.status, 200, admin.text);
  await assertReads(LOCKED, path, undefined, 'guarded', 'the anonymous caller after the admin granted all users');
});

// ---------------------------------------------------------------- exists and listing

test('exists, listing and getFileCount do not show another user a file they may not read', async () => {
  const owner = await signedIn('owner');
  const b = await signedIn('b');
  const dir = `${DIR}/hidden`;
  await uploadText(owner, `${dir}/secret.txt`, 'secret');
  await uploadText(owner, `${dir}/visible.txt`, 'visible');
  const anonymous = sdk();

  assert.equal(await owner.sdk.Files.exists(`${dir}/secret.txt`), true);
  assert.equal(await owner.sdk.Files.exists(`${dir}/missing.txt`), false);
  assert.deepEqual(names(await owner.sdk.Files.listing(dir)), ['secret.txt', 'visible.txt']);

  // No rule for B yet: nothing of the folder is confirmed.
  for (const name of ['secret.txt', 'visible.txt']) {
    assert.equal(await b.sdk.Files.exists(`${dir}/${name}`), false, `B: exists ${name}`);
    assert.equal(await anonymous.Files.exists(`${dir}/${name}`), false, `anonymous: exists ${name}`);
  }
  await assertRejects(b.sdk.Files.listing(dir), 4000, 403);
  await assertRejects(anonymous.Files.listing(dir), 4000, 403);

  // B may read the folder, and so its files, except the one denied on the file itself.
  const READ = owner.sdk.Files.Permissions.READ;
  await sendsRule(LOCKED, () => READ.grantForUser(b.id, dir), { type: 'GRANT', path: dir, permission: 'READ', user: b.id });
  await sendsRule(LOCKED, () => READ.denyForUser(b.id, `${dir}/secret.txt`), {
    type: 'DENY',
    path: `${dir}/secret.txt`,
    permission: 'READ',
    user: b.id,
  });
  const seen = await b.sdk.Files.listing(dir);
  assert.deepEqual(names(seen), ['visible.txt'], `B's listing: ${JSON.stringify(seen)}`);
  assert.equal(await b.sdk.Files.exists(`${dir}/visible.txt`), true);
  assert.equal(await b.sdk.Files.exists(`${dir}/secret.txt`), false, 'exists does not confirm the denied file');
  assert.equal(await b.sdk.Files.getFileCount(dir), 1, 'the count leaves out the denied file');
  assert.equal(await owner.sdk.Files.getFileCount(dir), 2);
  await assertReads(LOCKED, `${dir}/visible.txt`, b.token, 'visible', 'B');
  await assertRefused(LOCKED, `${dir}/secret.txt`, b.token, 'B');
  // The owner still sees both.
  assert.deepEqual(names(await owner.sdk.Files.listing(dir)), ['secret.txt', 'visible.txt']);
});

test('in the open demo app a deny for one user hides a file everyone else reads', async () => {
  const owner = await signedIn('owner', DEMO);
  const b = await signedIn('b', DEMO);
  const c = await signedIn('c', DEMO);
  const dir = `${DIR}/open`;
  const path = `${dir}/note.txt`;
  await uploadText(owner, path, 'open note');
  await assertReads(DEMO, path, undefined, 'open note', 'the anonymous caller');
  await assertReads(DEMO, path, b.token, 'open note', 'B');
  assert.equal(await b.sdk.Files.exists(path), true);

  await sendsRule(DEMO, () => owner.sdk.Files.Permissions.READ.denyForUser(b.id, path), {
    type: 'DENY',
    path,
    permission: 'READ',
    user: b.id,
  });
  await assertRefused(DEMO, path, b.token, 'B after the deny for B');
  await assertReads(DEMO, path, c.token, 'open note', 'C');
  await assertReads(DEMO, path, undefined, 'open note', 'the anonymous caller');
  assert.equal(await b.sdk.Files.exists(path), false, 'exists does not confirm it to B');
  assert.equal(await sdk(DEMO).Files.exists(path), true, 'the anonymous caller still sees it');
  assert.deepEqual(names(await b.sdk.Files.listing(dir)), [], "B's listing omits it");
  assert.deepEqual(names(await c.sdk.Files.listing(dir)), ['note.txt']);
});
