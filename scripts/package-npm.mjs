#!/usr/bin/env node
// Makes the wasm-pack output in `www/pkg` (or the directory given) an npm-ready package: a
// package.json with `exports`, `types`, `files`, license and repository, plus README.md and the
// two licence files. scripts/build-wasm.sh runs it last; it reads what wasm-pack wrote and may run
// again on the same directory (it rebuilds nothing).
//
//   node scripts/package-npm.mjs [PKG_DIR]
//
// The version, description and licence come from `cargo metadata` for the `stowage` crate (its
// version is the workspace's); `repository` from the root package.json, else from
// `git remote get-url origin`, else it is left out with a warning.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NAME = 'stowage';
/** The files beside the code that go into the package: copied from the repository. */
const COPIED = [
  ['wasm/js/README.md', 'README.md'],
  ['LICENSE-MIT', 'LICENSE-MIT'],
  ['LICENSE-APACHE', 'LICENSE-APACHE'],
];
/** What the package is: the glue, its types and the module (wasm-pack's `--out-name stowage`). */
const CODE = [`${NAME}.js`, `${NAME}.d.ts`, `${NAME}_bg.wasm`];

function fail(message) {
  console.error(`[package-npm] ${message}`);
  process.exit(1);
}

/** The `stowage` crate as `cargo metadata` resolves it (workspace-inherited fields filled in). */
function crateMetadata() {
  const out = execFileSync('cargo', ['metadata', '--no-deps', '--offline', '--format-version', '1'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const crate = JSON.parse(out).packages.find((p) => p.name === NAME);
  if (!crate) fail(`cargo metadata lists no \`${NAME}\` crate`);
  return crate;
}

/** `repository` for package.json: the root package's, the crate's, or the git remote's. */
function repository(rootPackage, crate) {
  if (rootPackage.repository) return rootPackage.repository;
  let url = crate.repository;
  if (!url) {
    try {
      url = execFileSync('git', ['remote', 'get-url', 'origin'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      url = '';
    }
  }
  if (!url) return undefined;
  // git@github.com:owner/name.git -> git+https://github.com/owner/name.git
  const scp = url.match(/^git@([^:]+):(.+)$/);
  if (scp) url = `https://${scp[1]}/${scp[2]}`;
  return { type: 'git', url: url.startsWith('git+') ? url : `git+${url}`, directory: 'wasm' };
}

function main() {
  const dir = resolve(process.argv[2] ?? join(ROOT, 'www', 'pkg'));
  const manifestPath = join(dir, 'package.json');
  if (!existsSync(manifestPath)) fail(`${manifestPath} is missing: run scripts/build-wasm.sh`);
  for (const file of CODE) {
    if (!existsSync(join(dir, file))) fail(`${join(dir, file)} is missing: run scripts/build-wasm.sh`);
  }
  const written = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const crate = crateMetadata();

  for (const [from, to] of COPIED) {
    const source = join(ROOT, from);
    if (!existsSync(source)) fail(`${source} is missing`);
    copyFileSync(source, join(dir, to));
  }

  const repo = repository(rootPackage, crate);
  if (!repo) console.error('[package-npm] warning: no repository URL (root package.json, Cargo.toml or git remote): left out');
  const manifest = {
    name: NAME,
    version: crate.version,
    description: crate.description ?? written.description,
    license: crate.license ?? rootPackage.license,
    ...(repo ? { repository: repo } : {}),
    keywords: ['file-upload', 'storage', 'wasm', 'webassembly', 'multipart', 'browser'],
    type: 'module',
    main: `./${NAME}.js`,
    module: `./${NAME}.js`,
    types: `./${NAME}.d.ts`,
    exports: {
      '.': { types: `./${NAME}.d.ts`, default: `./${NAME}.js` },
      // For `import wasmUrl from 'stowage/stowage_bg.wasm?url'` and the like: a bundler or a
      // server that wants to place the module itself and pass it to `init`.
      [`./${NAME}_bg.wasm`]: `./${NAME}_bg.wasm`,
      './package.json': './package.json',
    },
    files: [...CODE, ...COPIED.map(([, to]) => to)],
    // wasm-pack's answer: the glue has no side effects on import, its snippets (if any) do.
    sideEffects: written.sideEffects ?? ['./snippets/*'],
  };
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.error(`[package-npm] ${manifestPath}: ${manifest.name}@${manifest.version}, ${manifest.files.length} files`);
}

main();
