// The module-level functions of the package: each calls the `StorageClient` method of the same
// name, with the same arguments, on the client that `configure` set. scripts/build-wasm.sh appends
// this file to the `stowage.js` that wasm-bindgen writes (their TypeScript declarations,
// `default-client.d.ts`, to `stowage.d.ts`), where `__stowageDefaultClient` is defined: it answers
// that client, or throws a `ConfigurationError` before `configure`. The functions that answer a
// promise then reject with it; `fileUrl`, `imageUrl`, `currentUser`, `startUpload` and `listFiles` throw it.
// In Rust (wasm/src/js*.rs) each is a plain function of the same name for Rust callers and the
// browser tests; exporting those from wasm as well would double the module's async glue.

/** Runs `call` on the configured client; a `ConfigurationError` becomes a rejected promise. */
function withDefaultClient(call) {
  let client;
  try {
    client = __stowageDefaultClient();
  } catch (error) {
    return Promise.reject(error);
  }
  return call(client);
}

export function abortMultipart(uploadId) {
  return withDefaultClient((client) => client.abortMultipart(uploadId));
}

export function completeMultipart(uploadId, parts) {
  return withDefaultClient((client) => client.completeMultipart(uploadId, parts));
}

export function copy(sourcePath, targetPath) {
  return withDefaultClient((client) => client.copy(sourcePath, targetPath));
}

export function createDirectory(path) {
  return withDefaultClient((client) => client.createDirectory(path));
}

export function createFile(info, content, options) {
  return withDefaultClient((client) => client.createFile(info, content, options));
}

export function createMultipart(path, name, size, options) {
  return withDefaultClient((client) => client.createMultipart(path, name, size, options));
}

export function currentUser() {
  return __stowageDefaultClient().currentUser();
}

export function deleteFiles(ids, options) {
  return withDefaultClient((client) => client.deleteFiles(ids, options));
}

export function deny(path, permission, grantee) {
  return withDefaultClient((client) => client.deny(path, permission, grantee));
}

export function download(pathOrUrl, options) {
  return withDefaultClient((client) => client.download(pathOrUrl, options));
}

export function downloadUrls(ids) {
  return withDefaultClient((client) => client.downloadUrls(ids));
}

export function exists(path) {
  return withDefaultClient((client) => client.exists(path));
}

export function fileUrl(path) {
  return __stowageDefaultClient().fileUrl(path);
}

export function imageUrl(path, options) {
  return __stowageDefaultClient().imageUrl(path, options);
}

export function getFiles(ids, options) {
  return withDefaultClient((client) => client.getFiles(ids, options));
}

export function grant(path, permission, grantee) {
  return withDefaultClient((client) => client.grant(path, permission, grantee));
}

export function info() {
  return withDefaultClient((client) => client.info());
}

export function list(dir, options) {
  return withDefaultClient((client) => client.list(dir, options));
}

export function listFiles(filter, options) {
  return __stowageDefaultClient().listFiles(filter, options);
}

export function listFilesPage(filter, options) {
  return withDefaultClient((client) => client.listFilesPage(filter, options));
}

export function listParts(uploadId) {
  return withDefaultClient((client) => client.listParts(uploadId));
}

export function login(login, password) {
  return withDefaultClient((client) => client.login(login, password));
}

export function logout() {
  return withDefaultClient((client) => client.logout());
}

export function move(sourcePath, targetPath) {
  return withDefaultClient((client) => client.move(sourcePath, targetPath));
}

export function permissions(path) {
  return withDefaultClient((client) => client.permissions(path));
}

export function presignParts(uploadId, partNumbers) {
  return withDefaultClient((client) => client.presignParts(uploadId, partNumbers));
}

export function register(registration) {
  return withDefaultClient((client) => client.register(registration));
}

export function remove(path) {
  return withDefaultClient((client) => client.remove(path));
}

export function rename(oldPathName, newName) {
  return withDefaultClient((client) => client.rename(oldPathName, newName));
}

export function saveAs(pathOrUrl, fileName) {
  return withDefaultClient((client) => client.saveAs(pathOrUrl, fileName));
}

export function setVisibility(path, visibility, sharedWith) {
  return withDefaultClient((client) => client.setVisibility(path, visibility, sharedWith));
}

export function share(path, userIds) {
  return withDefaultClient((client) => client.share(path, userIds));
}

export function startUpload(file, path, options) {
  return __stowageDefaultClient().startUpload(file, path, options);
}

export function updateFiles(changes) {
  return withDefaultClient((client) => client.updateFiles(changes));
}

export function upload(file, path, overwrite, options) {
  return withDefaultClient((client) => client.upload(file, path, overwrite, options));
}

export function uploadMultipart(file, path, options) {
  return withDefaultClient((client) => client.uploadMultipart(file, path, options));
}
