// The browser engines the test runner knows: how wasm-bindgen-test-runner reaches each one
// (the driver's environment variable, and a virtual display when the engine needs one) and how
// the page test drives it (Playwright for Chromium; plain W3C WebDriver for Firefox ESR and
// WebKitGTK, which Playwright cannot drive without its own patched builds; see docs/browsers.md).
// Adding an engine is one entry here; `npm test -- --browser NAME` then runs both suites in it.

import { existsSync, mkdirSync, mkdtempSync, statfsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Flags that let Chromium run as root in a container with no network but the registries. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const MIB = 1024 * 1024;

/**
 * A fresh scratch directory for the browsers, for `TMPDIR`: on whichever of `/dev/shm`, the
 * system's temp directory and `target/` has the most free space. With `--disable-dev-shm-usage`
 * Chromium keeps its shared memory, and so every Blob a page holds (a downloaded file, a test's
 * random File), as files in `TMPDIR`; on a machine whose `/tmp` had a few hundred MiB free, every
 * download after the first 96 MiB one failed as a network error. Answers `{ dir, freeMiB }`.
 */
export function browserScratch(root) {
  const candidates = ['/dev/shm', tmpdir(), join(root, 'target')];
  let best = null;
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      const { bavail, bsize } = statfsSync(dir);
      const free = Number(bavail) * Number(bsize);
      if (!best || free > best.free) best = { dir, free };
    } catch {
      // Not on this machine, or not writable: the next one.
    }
  }
  if (!best) return null;
  try {
    return { dir: mkdtempSync(join(best.dir, 'stowage-browser-')), freeMiB: Math.floor(best.free / MIB) };
  } catch {
    return null;
  }
}

/**
 * Every driver variable wasm-bindgen-test-runner looks at. It takes the first one set, in the
 * order geckodriver, safaridriver, chromedriver, msedgedriver, so each engine's run clears the
 * others: a `GECKODRIVER` left in the caller's environment must not turn a Chromium run into Firefox.
 */
export const DRIVER_VARIABLES = ['GECKODRIVER', 'SAFARIDRIVER', 'CHROMEDRIVER', 'MSEDGEDRIVER'].flatMap((name) => [
  name,
  `${name}_REMOTE`,
  `${name}_ARGS`,
]);

/**
 * The native `name` found on PATH (then in `~/.cargo/bin`, where `cargo install` puts it), or
 * null. PATH entries under node_modules are skipped: `npm test` puts node_modules/.bin first, and
 * npm's `geckodriver` package (a dependency of `webdriver`) puts a wrapper there that downloads
 * the real driver on first use, which fails on a machine without network.
 */
export function which(name) {
  const dirs = [...(process.env.PATH || '').split(delimiter), join(homedir(), '.cargo', 'bin')];
  for (const dir of dirs) {
    if (!dir || dir.split(/[\\/]/).includes('node_modules')) continue;
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** The path in `$VARIABLE`, else `name` on PATH, else `fallback`. */
const tool = (variable, name, fallback) => process.env[variable] || which(name) || fallback;

export const ENGINES = {
  chrome: {
    label: 'Chromium',
    /** What wasm-bindgen-test-runner prints in `Running headless tests in NAME on ...`. */
    runnerName: 'Chrome',
    /** Environment for wasm-bindgen-test-runner: which WebDriver server to start. */
    driverEnv: () => ({ CHROMEDRIVER: tool('CHROMEDRIVER', 'chromedriver', '/usr/bin/chromedriver') }),
    /** A command prefix the engine's runs need (WebKitGTK needs an X display). */
    wrapper: [],
    /** The page test: Playwright, with playwright-core's browser type and launch options. */
    page: {
      kind: 'playwright',
      browserType: 'chromium',
      launchOptions: () => ({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        chromiumSandbox: false,
        args: CHROMIUM_ARGS,
      }),
    },
  },
  firefox: {
    label: 'Firefox',
    runnerName: 'Firefox',
    driverEnv: () => ({ GECKODRIVER: tool('GECKODRIVER', 'geckodriver', join(homedir(), '.cargo', 'bin', 'geckodriver')) }),
    wrapper: [],
    /** The page test: a WebDriver server started per run, and the session's capabilities. */
    page: {
      kind: 'webdriver',
      driver: () => ({
        command: tool('GECKODRIVER', 'geckodriver', join(homedir(), '.cargo', 'bin', 'geckodriver')),
        args: (port) => ['--port', String(port)],
      }),
      capabilities: () => ({
        browserName: 'firefox',
        'moz:firefoxOptions': {
          binary: process.env.FIREFOX || which('firefox-esr') || which('firefox') || '/usr/bin/firefox-esr',
          args: ['-headless'],
        },
      }),
    },
  },
  safari: {
    label: 'WebKit',
    // wasm-bindgen-test-runner calls every driver behind SAFARIDRIVER "Safari"; here that is
    // WebKitGTK's WebKitWebDriver, which starts WebKitGTK's MiniBrowser.
    runnerName: 'Safari',
    driverEnv: () => ({ SAFARIDRIVER: tool('SAFARIDRIVER', 'WebKitWebDriver', '/usr/bin/WebKitWebDriver') }),
    wrapper: ['xvfb-run', '-a'],
    page: {
      kind: 'webdriver',
      driver: () => ({
        command: 'xvfb-run',
        args: (port) => ['-a', tool('SAFARIDRIVER', 'WebKitWebDriver', '/usr/bin/WebKitWebDriver'), `--port=${port}`],
      }),
      // WebKitWebDriver starts MiniBrowser in automation mode when asked for nothing in particular.
      capabilities: () => ({}),
    },
  },
};

export const DEFAULT_ENGINES = ['chrome', 'firefox', 'safari'];

/** Launches the Playwright browser of engine `name`; only engines whose page test is Playwright's. */
export async function launchBrowser(name) {
  const engine = ENGINES[name];
  if (!engine) throw new Error(`unknown browser engine ${JSON.stringify(name)}; known: ${Object.keys(ENGINES).join(', ')}`);
  if (engine.page.kind !== 'playwright') throw new Error(`${name}: the page test drives it through WebDriver, not Playwright`);
  const playwright = await import('playwright-core');
  return playwright[engine.page.browserType].launch(engine.page.launchOptions());
}
