// The page in Firefox: a small driver for the tests and the benchmark (bench/firefox.py runs it).
// It launches Firefox ESR headless through puppeteer-core over WebDriver BiDi, does the steps of a
// JSON job and prints one JSON object: each step's result, and the pages' errors.
//
//   node tests/firefox.mjs '{"url": "http://127.0.0.1:5000", "clip": "clip.webm", "steps": [...]}'
//   (or the job on stdin)
//
// Job: url (the page), clip (optional: a webm file the stand-in camera plays, tests/stand-in-camera.js),
// firefox (default /usr/bin/firefox-esr), timeout_s (whole run, default 600), steps:
//   {"do": "loads", "times": 10, "timeout_s": 60}  open the page `times` times, each in a new tab:
//        [{ready, ms, backend}], ready when the page says so within timeout_s
//   {"do": "open", "query": "?backend=wasm", "timeout_s": 90, "attempts": 1}  open the page in a new tab,
//        up to `attempts` times until it is ready within timeout_s (or the step fails); the steps below use it
//   {"do": "camera", "warmup_s": 3, "seconds": 20, "timeout_s": 90}  press Start camera, wait for a
//        face, then record the page's camera results for `seconds`
//   {"do": "photo", "path": "face.jpg", "timeout_s": 60}  give the page a photo through its photo input
//   {"do": "wait", "until": "() => ...", "timeout_s": 30}  wait until the function is truthy in the page
//   {"do": "evaluate", "expression": "() => ..."}  the function's value in the page
// A step that fails ends the run: its result is {"error": "..."} and no later step runs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const READY = "() => Boolean(window.mien && window.mien.state.backend && !document.querySelector('#camera-toggle').disabled)";
async function readJob() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

/** Print the answer, and exit once it is written: a pipe takes a long line in several writes. */
function finish(answer, code) {
  process.stdout.write(`${JSON.stringify(answer)}\n`, () => process.exit(code));
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function waitFor(page, fn, timeoutS) {
  return page.waitForFunction(`(${fn})()`, { timeout: timeoutS * 1000, polling: 100 });
}

class Run {
  constructor(browser, job) {
    this.browser = browser;
    this.job = job;
    this.page = null;
    this.errors = [];
    const clip = job.clip ? readFileSync(job.clip).toString('base64') : null;
    this.standIn = clip && `(${readFileSync(join(HERE, 'stand-in-camera.js'), 'utf8').trim()})(${JSON.stringify(clip)}, 'video/webm');`;
    this.recorder = `(${readFileSync(join(HERE, 'camera-recorder.js'), 'utf8').trim()})();`;
  }

  async newPage(query = '') {
    const page = await this.browser.newPage();
    page.on('pageerror', (error) => this.errors.push(String(error?.message ?? error)));
    if (this.standIn) await page.evaluateOnNewDocument(this.standIn);
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(`${this.job.url}/${query}`, { waitUntil: 'load', timeout: 60_000 });
    return page;
  }

  async closePage(page) {
    // A page whose worker hangs may not close promptly: give up waiting after 10 s.
    await Promise.race([page.close().catch(() => {}), sleep(10_000)]);
  }

  async loads({ times = 10, timeout_s: timeoutS = 60, query = '' }) {
    const loads = [];
    for (let index = 0; index < times; index += 1) {
      const started = Date.now();
      const page = await this.newPage(query);
      let ready = true;
      try {
        await waitFor(page, READY, Math.max(1, timeoutS - (Date.now() - started) / 1000));
      } catch {
        ready = false;
      }
      const ms = Date.now() - started;
      const backend = await page.evaluate(() => window.mien?.state.backend ?? null).catch(() => null);
      loads.push({ ready, ms, backend });
      await this.closePage(page);
    }
    return loads;
  }

  async open({ query = '', timeout_s: timeoutS = 90, attempts = 1 }) {
    for (let attempt = 1; ; attempt += 1) {
      if (this.page) await this.closePage(this.page);
      const started = Date.now();
      this.page = await this.newPage(query);
      try {
        await waitFor(this.page, READY, timeoutS);
      } catch (error) {
        if (attempt < attempts) continue;
        throw error;
      }
      const about = await this.page.evaluate(() => ({ backend: window.mien.state.backend, userAgent: navigator.userAgent }));
      return { ms: Date.now() - started, attempt, ...about };
    }
  }

  async camera({ warmup_s: warmupS = 3, seconds = 0, timeout_s: timeoutS = 90 }) {
    const page = this.current();
    await page.evaluate(this.recorder);
    await page.click('#camera-toggle');
    await waitFor(page, '() => window.mien.state.faces.length >= 1', timeoutS);
    await sleep(warmupS * 1000);
    await page.evaluate('window.cameraRecord.start()');
    await sleep(seconds * 1000);
    return page.evaluate('window.cameraRecord.stop()');
  }

  async photo({ path, timeout_s: timeoutS = 60 }) {
    const page = this.current();
    const before = await page.evaluate(() => window.mien.state.frames);
    const input = await page.$('#photo-input');
    await input.uploadFile(path);
    await waitFor(page, `() => window.mien.state.frames > ${before} && document.querySelector('#speed').textContent.startsWith('photo analysed in')`, timeoutS);
    return page.evaluate(() => ({ faces: window.mien.state.faces, speed: document.querySelector('#speed').textContent }));
  }

  async wait({ until, timeout_s: timeoutS = 30 }) {
    await waitFor(this.current(), until, timeoutS);
    return true;
  }

  async evaluate({ expression }) {
    return this.current().evaluate(`(${expression})()`);
  }

  current() {
    if (!this.page) throw new Error('no page is open: an "open" step comes first');
    return this.page;
  }
}

async function main() {
  const job = await readJob();
  const deadline = setTimeout(() => finish({ error: `the run took over ${job.timeout_s ?? 600} s` }, 3), (job.timeout_s ?? 600) * 1000);
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: job.firefox ?? '/usr/bin/firefox-esr', headless: true,
    // Media plays without a user's gesture, as a camera's video does on the page.
    extraPrefsFirefox: { 'media.autoplay.default': 0, 'media.autoplay.blocking_policy': 0 },
  });
  const run = new Run(browser, job);
  const steps = [];
  let version = null;
  try {
    for (const step of job.steps ?? []) {
      try {
        if (!(step.do in STEPS)) throw new Error(`unknown step ${JSON.stringify(step.do)}`);
        steps.push({ do: step.do, result: await STEPS[step.do](run, step) });
      } catch (error) {
        steps.push({ do: step.do, error: String(error?.message ?? error) });
        break;
      }
    }
    version = await browser.version();
  } finally {
    await Promise.race([browser.close().catch(() => {}), sleep(15_000)]);
    clearTimeout(deadline);
  }
  finish({ browser: version, steps, errors: run.errors }, 0);
}

const STEPS = {
  loads: (run, step) => run.loads(step),
  open: (run, step) => run.open(step),
  camera: (run, step) => run.camera(step),
  photo: (run, step) => run.photo(step),
  wait: (run, step) => run.wait(step),
  evaluate: (run, step) => run.evaluate(step),
};

main().catch((error) => finish({ error: String(error?.stack ?? error) }, 1));
