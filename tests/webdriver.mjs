// WebDriver for the engines Playwright cannot drive here (Debian's Firefox ESR through
// geckodriver, WebKitGTK through WebKitWebDriver): start a driver process, then a session over
// npm's `webdriver` package (WebdriverIO's W3C bindings, attached to that driver, classic
// protocol) with the few commands the page tests use: navigate, find elements, type a file path
// into `<input type=file>`, run scripts, answer prompts, screenshots.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import WebDriver from 'webdriver';
import { freePort } from './server.mjs';

/** The key under which a W3C driver returns an element reference. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebDriver error answer: `error` is the spec's code (`no such element`, `timeout`, ...). */
export class WebDriverError extends Error {
  constructor(command, cause) {
    // The `webdriver` package names its error by the spec's code.
    super(`${command}: ${cause?.name ?? 'error'}: ${cause?.message ?? String(cause)}`, { cause });
    this.name = 'WebDriverError';
    this.error = cause?.name;
  }
}

/**
 * Starts a driver (`command ...args(port)`) on a free port in its own process group and waits
 * until `GET /status` answers ready. Answers `{ url, stop() }`; the driver's output goes to `logFile`.
 */
export async function startDriver({ command, args, env = {}, logFile, timeoutMs = 30_000 }) {
  const port = await freePort();
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'w' });
  const argv = args(port);
  log.write(`# ${command} ${argv.join(' ')}\n`);
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own group: `xvfb-run` starts Xvfb and the driver, which start the browser
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup('SIGKILL');
  process.on('exit', killOnExit);
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve((exited = { code, signal })));
    child.on('error', (error) => resolve((exited = { error })));
  });
  const stop = async () => {
    process.off('exit', killOnExit);
    if (!exited) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (!log.writableEnded) await new Promise((resolve) => log.end(resolve));
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      await stop();
      const how = exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`;
      throw new Error(`${command} exited before answering (${how}); see ${logFile}`);
    }
    try {
      const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
      const body = await response.json();
      if (response.ok && body.value?.ready !== false) return { url, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`${command} did not answer ${url}/status within ${timeoutMs / 1000} s; see ${logFile}`);
}

/** One browser session. Element references are plain `{ [ELEMENT]: id }` objects. */
export class Session {
  constructor(client) {
    this.client = client;
    this.id = client.sessionId;
    /** What the driver answered: `browserName`, `browserVersion`, ... */
    this.capabilities = client.capabilities;
  }

  /** A new session on the driver at `driverUrl` with `alwaysMatch` capabilities. */
  static async create(driverUrl, alwaysMatch = {}) {
    const { hostname, port } = new URL(driverUrl);
    const client = await run('new session', () =>
      WebDriver.newSession({
        hostname,
        port: Number(port),
        path: '/',
        capabilities: { ...alwaysMatch, 'wdio:enforceWebDriverClassic': true },
        logLevel: 'warn',
        connectionRetryCount: 0, // a command is sent once: a retried click or upload would be a second one
        connectionRetryTimeout: 300_000, // longer than the page tests' script timeout (180 s)
      }),
    );
    return new Session(client);
  }

  /** Ends the session (and the browser). */
  close() {
    return run('delete session', () => this.client.deleteSession());
  }

  navigate(url) {
    return run('navigate', () => this.client.navigateTo(url));
  }

  /** Reloads the page. */
  refresh() {
    return run('refresh', () => this.client.refresh());
  }

  /** The first element matching a CSS selector; throws `no such element`. */
  async find(css) {
    const found = await run(`find ${css}`, () => this.client.findElement('css selector', css));
    // The package answers `no such element` as a value (WebdriverIO's lazy elements), not an error.
    if (found?.error) throw new WebDriverError(`find ${css}`, { name: found.error, message: found.message });
    return found;
  }

  /** Every element matching a CSS selector. */
  findAll(css) {
    return run(`find all ${css}`, () => this.client.findElements('css selector', css));
  }

  click(element) {
    return run('click', () => this.client.elementClick(element[ELEMENT]));
  }

  clear(element) {
    return run('clear', () => this.client.elementClear(element[ELEMENT]));
  }

  /** Element Send Keys: types `text`; on `<input type=file>` the text is a local file path. */
  sendKeys(element, text) {
    return run('send keys', () => this.client.elementSendKeys(element[ELEMENT], text));
  }

  /** Runs `script` (a function body; `arguments[i]` are `args`) and answers what it returns. */
  execute(script, ...args) {
    return run('execute', () => this.client.executeScript(script, args));
  }

  /** Like `execute`, but the body must call `arguments[arguments.length - 1](result)`. */
  executeAsync(script, ...args) {
    return run('execute async', () => this.client.executeAsyncScript(script, args));
  }

  /** Sets the script, page-load and implicit-wait timeouts (ms). */
  timeouts({ implicit, pageLoad, script }) {
    return run('timeouts', () => this.client.setTimeouts(implicit, pageLoad, script));
  }

  /** Sets the window's size (not every driver can). */
  windowSize(width, height) {
    return run('window rect', () => this.client.setWindowRect(null, null, width, height));
  }

  alertText() {
    return run('alert text', () => this.client.getAlertText());
  }

  /** Types into an open `prompt()` (when `text` is given) and accepts it. */
  async acceptAlert(text) {
    if (text !== undefined) await run('alert send text', () => this.client.sendAlertText(text));
    return run('accept alert', () => this.client.acceptAlert());
  }

  /** Saves a PNG of the viewport. */
  async screenshot(path) {
    const base64 = await run('screenshot', () => this.client.takeScreenshot());
    await writeFile(path, Buffer.from(base64, 'base64'));
  }

  /**
   * Polls `predicate` (a script body answering a truthy value once the page is in the wanted
   * state) until it does; answers that value. `what` names the state in the timeout error.
   */
  async waitFor(what, predicate, args = [], { timeoutMs = 30_000, intervalMs = 100 } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.execute(predicate, ...args);
      if (last) return last;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await sleep(intervalMs);
    }
  }
}

/** Runs one command of the `webdriver` client; its errors become WebDriverErrors. */
async function run(command, fn) {
  try {
    return await fn();
  } catch (err) {
    throw new WebDriverError(command, err);
  }
}
