// TypeScript declarations of default-client.js; scripts/build-wasm.sh appends them to stowage.d.ts.

/**
 * `StorageClient.abortMultipart` with the client set by `configure`.
 *
 * ```javascript
 * await abortMultipart(uploadId);
 * ```
 */
export function abortMultipart(uploadId: string): Promise<void>;
/**
 * `StorageClient.completeMultipart` with the client set by `configure`.
 *
 * ```javascript
 * await completeMultipart(uploadId, parts);
 * ```
 */
export function completeMultipart(uploadId: string, parts: CompletedPart[]): Promise<CompleteResult>;
/**
 * `StorageClient.copy` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const copied = await copy('/docs/readme.txt', '/backup');
 * ```
 */
export function copy(sourcePath: string, targetPath: string): Promise<string>;
/**
 * `StorageClient.createDirectory` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await createDirectory('/photos/2024');
 * ```
 */
export function createDirectory(path: string): Promise<string>;
/**
 * `StorageClient.createFile` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const record = await createFile({ name: 'cat.png', externalId: 'cat' }, blob);
 * ```
 */
export function createFile(info: FileInfo, content?: Blob | null, options?: CreateFileOptions | null): Promise<FileRecord>;
/**
 * `StorageClient.createMultipart` with the client set by `configure`.
 *
 * ```javascript
 * const upload = await createMultipart('/videos', 'a.mp4', file.size, { partSize: 8 << 20 });
 * ```
 */
export function createMultipart(path: string, name: string, size: number, options?: CreateMultipartOptions | null): Promise<MultipartUpload>;
/**
 * `StorageClient.currentUser` with the client set by `configure` (throws a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const me = currentUser(); // null when signed out
 * ```
 */
export function currentUser(): StowageUser | null;
/**
 * `StorageClient.deleteFiles` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await deleteFiles(['cat']);
 * ```
 */
export function deleteFiles(ids: FileIdentities, options?: GetFilesOptions | null): Promise<void>;
/**
 * `StorageClient.deny` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await deny('/docs', 'DELETE', { role: '*' });
 * ```
 */
export function deny(path: string, permission: PermissionName, grantee: Grantee): Promise<void>;
/**
 * `StorageClient.download` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const blob = await download('/docs/readme.txt');
 * ```
 */
export function download(pathOrUrl: string, options?: DownloadOptions | null): Promise<Blob>;
/**
 * `StorageClient.downloadUrls` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const [{ downloadUrl }] = await downloadUrls(['cat']);
 * ```
 */
export function downloadUrls(ids: FileIdentities): Promise<DownloadLink[]>;
/**
 * `StorageClient.exists` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const there = await exists('/docs/readme.txt');
 * ```
 */
export function exists(path: string): Promise<boolean>;
/**
 * `StorageClient.fileUrl` with the client set by `configure` (throws a `ConfigurationError`
 * before that).
 *
 * ```javascript
 * link.href = fileUrl('/docs/readme.txt');
 * ```
 */
export function fileUrl(path: string): string;
/**
 * `StorageClient.imageUrl` with the client set by `configure` (throws a `ConfigurationError`
 * before that).
 *
 * ```javascript
 * img.src = imageUrl('/photos/cat.jpg', { width: 400 });
 * ```
 */
export function imageUrl(path: string, options?: ImageOptions): string;
/**
 * `StorageClient.getFiles` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const [cat] = await getFiles(['cat']);
 * ```
 */
export function getFiles(ids: FileIdentities, options?: GetFilesOptions | null): Promise<FileRecord[]>;
/**
 * `StorageClient.grant` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await grant('/docs/plan.txt', 'WRITE', { user: bob.objectId });
 * ```
 */
export function grant(path: string, permission: PermissionName, grantee: Grantee): Promise<void>;
/**
 * `StorageClient.info` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const { serverVersion } = await info();
 * ```
 */
export function info(): Promise<AppInfo>;
/**
 * `StorageClient.list` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const entries = await list('/docs', { pattern: '*.txt' });
 * ```
 */
export function list(dir: string, options?: ListOptions | null): Promise<FileEntry[]>;
/**
 * `StorageClient.listFiles` with the client set by `configure` (throws a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * for await (const record of listFiles({ mimeType: 'image/png' })) console.log(record.name);
 * ```
 */
export function listFiles(filter?: FileFilter | null, options?: FileListOptions | null): AsyncIterableIterator<FileRecord>;
/**
 * `StorageClient.listFilesPage` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const { items, nextCursor } = await listFilesPage({}, { limit: 10, cursor });
 * ```
 */
export function listFilesPage(filter?: FileFilter | null, options?: FilePageOptions | null): Promise<FilePage>;
/**
 * `StorageClient.listParts` with the client set by `configure`.
 *
 * ```javascript
 * const status = await listParts(uploadId);
 * ```
 */
export function listParts(uploadId: string): Promise<UploadStatus>;
/**
 * `StorageClient.login` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const me = await login('ann@example.com', 'correct horse');
 * ```
 */
export function login(login: string, password: string): Promise<StowageUser>;
/**
 * `StorageClient.logout` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await logout();
 * ```
 */
export function logout(): Promise<void>;
/**
 * `StorageClient.move` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const moved = await move('/docs/readme.txt', '/archive');
 * ```
 */
export function move(sourcePath: string, targetPath: string): Promise<string>;
/**
 * `StorageClient.permissions` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const rules = await permissions('/docs/plan.txt');
 * ```
 */
export function permissions(path: string): Promise<PermissionRule[]>;
/**
 * `StorageClient.presignParts` with the client set by `configure`.
 *
 * ```javascript
 * const urls = await presignParts(uploadId, [1, 2, 3]);
 * ```
 */
export function presignParts(uploadId: string, partNumbers: Float64Array | number[]): Promise<PresignedPart[]>;
/**
 * `StorageClient.register` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await register({ email: 'ann@example.com', password: 'correct horse' });
 * ```
 */
export function register(registration: Registration): Promise<StowageUser>;
/**
 * `StorageClient.remove` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await remove('/docs/old.txt');
 * ```
 */
export function remove(path: string): Promise<void>;
/**
 * `StorageClient.rename` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const renamed = await rename('/docs/a.txt', 'b.txt');
 * ```
 */
export function rename(oldPathName: string, newName: string): Promise<string>;
/**
 * `StorageClient.saveAs` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await saveAs('/docs/readme.txt', 'README.txt');
 * ```
 */
export function saveAs(pathOrUrl: string, fileName?: string | null): Promise<void>;
/**
 * `StorageClient.setVisibility` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await setVisibility('/docs/plan.txt', 'protected');
 * ```
 */
export function setVisibility(path: string, visibility: Visibility | null, sharedWith?: string[] | null): Promise<FileAccess>;
/**
 * `StorageClient.share` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await share('/docs/plan.txt', [bob.objectId]);
 * ```
 */
export function share(path: string, userIds: string[]): Promise<FileAccess>;
/**
 * `StorageClient.startUpload` with the client set by `configure`.
 *
 * ```javascript
 * const task = startUpload(file, '/videos'); await task.done;
 * ```
 */
export function startUpload(file: Blob, path: string, options?: MultipartOptions | null): UploadTask;
/**
 * `StorageClient.updateFiles` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * await updateFiles([{ externalId: 'cat', update: { directory: { set: '/pets' } } }]);
 * ```
 */
export function updateFiles(changes: FileChange[]): Promise<FileRecord[]>;
/**
 * `StorageClient.upload` with the client set by `configure` (rejects with a
 * `ConfigurationError` before that).
 *
 * ```javascript
 * const url = await upload(input.files[0], '/docs', true, { onProgress: (l, t) => console.log(l / t) });
 * ```
 */
export function upload(file: Blob, path: string, overwrite?: boolean | null, options?: UploadOptions | null): Promise<string>;
/**
 * `StorageClient.uploadMultipart` with the client set by `configure`.
 *
 * ```javascript
 * const { url, checksum } = await uploadMultipart(file, '/videos', { checksum: 'sha256' });
 * ```
 */
export function uploadMultipart(file: Blob, path: string, options?: MultipartOptions | null): Promise<MultipartResult>;
