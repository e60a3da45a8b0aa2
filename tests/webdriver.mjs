// A small W3C WebDriver client over plain `fetch`, for the engines Playwright cannot drive here
// (Debian's Firefox ESR and WebKitGTK): start a driver process, open a session, navigate, find
// elements, type a file path into `<input type=file>`, run scripts, answer prompts, screenshots.
// Spec: https://www.w3.org/TR/webdriver2/. Only the commands the page test needs.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { freePort } from './server.mjs';

/** The key under which a W3C driver returns an element reference. */
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A WebDriver error answer: `error` is the spec's code (`no such element`, `timeout`, ...). */
export class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error ?? 'error'}: ${value?.message ?? JSON.stringify(value)}`);
    this.name = 'WebDriverError';
    this.error = value?.error;
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
  constructor(driverUrl, id, capabilities) {
    this.base = `${driverUrl}/session/${id}`;
    this.id = id;
    /** What the driver answered: `browserName`, `browserVersion`, ... */
    this.capabilities = capabilities;
  }

  /** `POST /session` with `alwaysMatch` capabilities. */
  static async create(driverUrl, alwaysMatch = {}) {
    const value = await call('POST', `${driverUrl}/session`, { capabilities: { alwaysMatch } }, 'new session');
    return new Session(driverUrl, value.sessionId, value.capabilities);
  }

  cmd(method, path, body) {
    return call(method, `${this.base}${path}`, body, `${method} ${path || '/'}`);
  }

  /** Ends the session (and the browser). */
  close() {
    return call('DELETE', this.base, undefined, 'delete session');
  }

  navigate(url) {
    return this.cmd('POST', '/url', { url });
  }

  /** The first element matching a CSS selector; throws `no such element`. */
  find(css) {
    return this.cmd('POST', '/element', { using: 'css selector', value: css });
  }

  /** Every element matching a CSS selector. */
  findAll(css) {
    return this.cmd('POST', '/elements', { using: 'css selector', value: css });
  }

  click(element) {
    return this.cmd('POST', `/element/${element[ELEMENT]}/click`, {});
  }

  clear(element) {
    return this.cmd('POST', `/element/${element[ELEMENT]}/clear`, {});
  }

  /** Element Send Keys: types `text`; on `<input type=file>` the text is a local file path. */
  sendKeys(element, text) {
    return this.cmd('POST', `/element/${element[ELEMENT]}/value`, { text });
  }

  /** Runs `script` (a function body; `arguments[i]` are `args`) and answers what it returns. */
  execute(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  /** Like `execute`, but the body must call `arguments[arguments.length - 1](result)`. */
  executeAsync(script, ...args) {
    return this.cmd('POST', '/execute/async', { script, args });
  }

  /** Sets the script, page-load and implicit-wait timeouts (ms). */
  timeouts(values) {
    return this.cmd('POST', '/timeouts', values);
  }

  alertText() {
    return this.cmd('GET', '/alert/text');
  }

  /** Types into an open `prompt()` (when `text` is given) and accepts it. */
  async acceptAlert(text) {
    if (text !== undefined) await this.cmd('POST', '/alert/text', { text });
    return this.cmd('POST', '/alert/accept', {});
  }

  /** Saves a PNG of the viewport. */
  async screenshot(path) {
    const base64 = await this.cmd('GET', '/screenshot');
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

/** One WebDriver request; answers `value` or throws a WebDriverError. */
async function call(method, url, body, command) {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(command, { error: `HTTP ${response.status}`, message: text.slice(0, 500) });
  }
  if (!response.ok || json.value?.error) throw new WebDriverError(command, json.value);
  return json.value;
}
