// The browser engines the test runner knows: how wasm-pack reaches each one (its flag and the
// driver's environment) and how Playwright launches it for the page test.
// Adding an engine is one entry here; `npm test -- --browser NAME` then runs both suites in it.

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

export const ENGINES = {
  chrome: {
    label: 'Chromium',
    /** Arguments for `wasm-pack test` after `test`. */
    wasmPackArgs: ['--headless', '--chrome'],
    /** Environment for wasm-pack's WebDriver run; wasm-pack uses this driver instead of downloading one. */
    driverEnv: () => ({ CHROMEDRIVER: process.env.CHROMEDRIVER || '/usr/bin/chromedriver' }),
    /** Playwright: the browser type exported by playwright-core and its launch options. */
    playwright: {
      browserType: 'chromium',
      launchOptions: () => ({
        executablePath: '/usr/bin/chromium',
        headless: true,
        chromiumSandbox: false,
        args: CHROMIUM_ARGS,
      }),
    },
  },
};

export const DEFAULT_ENGINES = ['chrome'];

/** Launches the Playwright browser of engine `name` (`chrome`, ...). */
export async function launchBrowser(name) {
  const engine = ENGINES[name];
  if (!engine) throw new Error(`unknown browser engine ${JSON.stringify(name)}; known: ${Object.keys(ENGINES).join(', ')}`);
  const playwright = await import('playwright-core');
  return playwright[engine.playwright.browserType].launch(engine.playwright.launchOptions());
}
