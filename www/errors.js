// Plain-words sentences for the errors the `stowage` client throws. The codes are the ones
// in docs/errors.md; tests/errors.test.mjs checks that every code there has a sentence here.

const REQUEST_NOT_UNDERSTOOD = 'The server could not use the request this page sent';

/**
 * Sentences by error code. A string serves every action; an object picks by action
 * (`upload`, `mkdir`, `rename`, `move`, `delete`, `list`, `download`, `info`, `login`,
 * `register`, `logout`, `visibility`) with `default` for the rest.
 */
export const SENTENCES = {
  3003: {
    login: 'That email and password do not match an account. Check them and try again.',
    default: 'The server does not know this app id and API key. Check the app= and key= parts of the address.',
  },
  3033: 'An account with that email already exists. Sign in instead, or register with another email.',
  3064: 'Your sign-in has expired or was ended elsewhere. Sign in again.',
  4000: {
    upload: 'You may not write here: the file belongs to someone else, or this app needs you to sign in.',
    delete: 'You may not delete that: it belongs to someone else.',
    move: 'You may not move that: it, or the folder it would go into, belongs to someone else.',
    rename: 'You may not rename that: it belongs to someone else.',
    mkdir: 'You may not create a folder here: sign in, or ask the owner of this folder.',
    list: 'You may not see what is in this folder: sign in as its owner, or ask the owner to share it.',
    download: 'You may not open that file: sign in as its owner, or ask the owner to share it.',
    visibility: 'Only the owner of a file can change who may see it.',
    default: 'You do not have permission to do that.',
  },
  6000: {
    list: 'This folder does not exist. Go back to the top folder.',
    default: 'That file or folder does not exist any more. The list has been refreshed.',
  },
  6003: {
    upload: "A file with that name already exists here. Turn on 'Replace existing files' to overwrite.",
    mkdir: 'A folder with that name already exists here.',
    rename: 'Something with that name already exists in this folder. Choose another name.',
    default: 'Something with that name already exists here.',
  },
  6004: 'The target is a file, not a folder. Give the name of a folder to move into.',
  6005: 'The target folder already holds something with that name.',
  6006:
    'That name has characters that are not allowed: a backslash, a control character, an empty part (//), or a part that is only . or ..',
  6008: 'That name is too long: a file or folder name can be at most 255 bytes.',
  6009: 'That path is too long: a whole path can be at most 1024 bytes.',
  6010:
    'binary, append, move, copy, rename, permissions and visibility cannot be used as names in the top folder. Choose another name, or put it inside a folder.',
  6011: 'A folder cannot be moved or copied into itself or into one of its own subfolders.',
  6012: 'Part of that path is a file, not a folder.',
  6013: 'The top folder itself cannot be changed this way.',
  6014: 'The requested part of the file lies outside the file.',
  6015: 'The file changed while it was being downloaded. Try again.',
  6016: 'Another file already has this external id.',
  6017: 'Some of the files asked for do not exist.',
  6018: 'A field of the file is too long or not allowed. The message says which.',
  6019: 'This file has no content yet: its upload has not finished.',
  6020: 'The list changed its order or the link is stale. Reload the list.',
  6021: 'Sign in first: this needs an account.',
  6022: 'Too many failed sign-ins. Wait a few minutes, then try again.',
  6023: 'Something inside this folder belongs to someone else, so the folder cannot be changed as a whole',
  6101: 'This image is too large to resize (at most 25 MB and 50 megapixels).',
  6102: 'This file is not an image that can be resized (JPEG, PNG, GIF or WebP).',
  6103: 'This image could not be read: it may be damaged.',
  6104: 'That image size needs a signed link from the server.',
  7001: 'Part of the upload arrived damaged. Nothing was saved; try again.',
  7002: 'The upload link expired before the upload finished. Try again.',
  7003: 'The server did not accept the upload link. Try again.',
  7004: 'The server no longer knows this upload: it was cancelled or took too long. Start it again.',
  7005: "The upload's parts did not fit together. Nothing was saved; try again.",
  7006: "The upload's parts did not fit together. Nothing was saved; try again.",
  7007: "The upload's parts did not fit together. Nothing was saved; try again.",
  7008: REQUEST_NOT_UNDERSTOOD,
  7009: 'The server is busy. Wait a moment and try again.',
  7010: 'The storage service is unavailable for a moment. Try again shortly; nothing was changed.',
  8001: 'A required value was empty.',
  8002: REQUEST_NOT_UNDERSTOOD,
  8003: REQUEST_NOT_UNDERSTOOD,
  8004: REQUEST_NOT_UNDERSTOOD,
  8005: {
    upload: 'That file is larger than the server accepts',
    default: 'The request was larger than the server accepts.',
  },
  8006: REQUEST_NOT_UNDERSTOOD,
  8007: REQUEST_NOT_UNDERSTOOD,
  8008: REQUEST_NOT_UNDERSTOOD,
  8009: REQUEST_NOT_UNDERSTOOD,
  8010: REQUEST_NOT_UNDERSTOOD,
  8011: 'The upload stopped before the whole file arrived. Nothing was saved; try again.',
  8012: REQUEST_NOT_UNDERSTOOD,
  8013: 'The request was too large for the server to read. Try a shorter file name or path.',
  8014: 'The request was too large for the server to read. Try a shorter file name or path.',
  5000: "The server ran into an internal error. Try again; if it keeps happening, look at the server's log.",
  5001: "The server's disk is full. Nothing was saved.",
};

/**
 * Turns an error from the client into one sentence for people, or `''` for a cancelled action.
 * `context.maxUploadBytes` and `context.formatBytes` add the upload limit to 8005.
 */
export function describeError(err, action, context = {}) {
  const name = err?.name;
  if (name === 'AbortError') return '';
  if (name === 'NetworkError') {
    return 'Could not reach the server. Check that it is still running, then try again.';
  }
  if (name !== 'StorageError') {
    return `Something went wrong: ${err?.message ?? String(err)}`;
  }
  const entry = SENTENCES[err.code];
  if (entry === undefined) {
    return `The server refused the request (${err.code}): ${err.message}`;
  }
  const sentence = typeof entry === 'string' ? entry : (entry[action] ?? entry.default);
  if (sentence === REQUEST_NOT_UNDERSTOOD) {
    return `${sentence} (${err.code}: ${err.message}). This is a bug in the page or the client.`;
  }
  if (err.code === 6023) {
    return err.message ? `${sentence} (${err.message}).` : `${sentence}.`;
  }
  if (err.code === 8005 && action === 'upload') {
    const { maxUploadBytes, formatBytes } = context;
    return maxUploadBytes && formatBytes
      ? `${sentence} (at most ${formatBytes(maxUploadBytes)}).`
      : `${sentence}.`;
  }
  return sentence;
}
