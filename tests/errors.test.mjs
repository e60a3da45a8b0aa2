// The page's plain-words error sentences (www/errors.js) against the code table in docs/errors.md.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { describeError, SENTENCES } from '../www/errors.js';

const table = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = [...table.matchAll(/^\| (\d{4}) \| (\d{3}) \|/gm)].map((m) => Number(m[1]));

const storageError = (code, message = 'server text') => ({ name: 'StorageError', code, status: 400, message });

test('docs/errors.md lists codes', () => {
  assert.ok(documented.length >= 20, `found only ${documented.length} codes`);
});

test('every documented code has a sentence, and the page knows no undocumented code', () => {
  const known = Object.keys(SENTENCES).map(Number).sort();
  assert.deepEqual(known, [...documented].sort());
});

test('an upload onto an existing name says how to overwrite', () => {
  assert.equal(
    describeError(storageError(6003), 'upload'),
    "A file with that name already exists here. Turn on 'Replace existing files' to overwrite.",
  );
  assert.equal(describeError(storageError(6003), 'mkdir'), 'A folder with that name already exists here.');
  assert.equal(describeError(storageError(6003), 'move'), 'Something with that name already exists here.');
});

test('a too large upload names the limit', () => {
  const text = describeError(storageError(8005), 'upload', {
    maxUploadBytes: 1024 * 1024,
    formatBytes: (n) => `${n / 1024 / 1024} MiB`,
  });
  assert.equal(text, 'That file is larger than the server accepts (at most 1 MiB).');
});

test('request errors keep the code and the server message', () => {
  const text = describeError(storageError(8004, 'Could not parse request body: eof'), 'rename');
  assert.match(text, /8004: Could not parse request body: eof/);
});

test('cancelled actions say nothing; network failures and unknown errors say what happened', () => {
  assert.equal(describeError({ name: 'AbortError', message: 'aborted' }, 'upload'), '');
  assert.match(describeError({ name: 'NetworkError', code: 0, status: 0, message: 'x' }, 'list'), /Could not reach/);
  assert.match(describeError(new TypeError('boom'), 'list'), /Something went wrong: boom/);
  assert.match(describeError(storageError(7777, 'new'), 'list'), /\(7777\): new/);
});
