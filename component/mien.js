// Mien: facial expressions, found and read in any page, on the visitor's own device.
//
//   import { Mien } from 'mien-expressions';            // or from 'https://host/mien.js'
//   const mien = await Mien.create();                    // the model that comes with it, the best backend
//   mien.addEventListener('result', (event) => console.log(event.detail.faces));
//   await mien.watch(videoElementOrMediaStream);
//   const { faces } = await mien.analyse(imageOrCanvasOrBitmapOrBlob);
//
// The networks (TF.js, MediaPipe's BlazeFace and Mien's expression model) run in a worker: this
// module only passes messages. The worker and every file it loads are named by literal
// `new URL('./…', import.meta.url)` paths, which Vite and webpack 5 follow and emit, and which,
// served as they are, resolve beside this module; a page on another origin starts the worker
// through a same-origin blob that imports it. See the README's "Use Mien in your page".

import { policySentence } from './static/js/assets.js';
import { BACKENDS, wasmThreadsHelp, webglRenderer } from './static/js/backend.js';

export { BACKENDS };

/** Options of Mien.create, each with its default. */
export const DEFAULTS = Object.freeze({
  model: undefined, // the expression model's folder URL; undefined: the model that comes with Mien; null: faces only
  backend: 'auto', // 'auto', 'webgpu', 'webgl', 'wasm' or 'cpu'
  smoothing: true, // smooth boxes and scores over frames while watching
  features: false, // give each face its features (the network's penultimate layer), as personalise takes them
  frames: 'auto', // how watched frames reach the worker: 'auto', 'track', 'worker' or 'bitmap' (README)
});
const FRAMES = ['auto', 'track', 'worker', 'bitmap'];
/** The longest side analyse reads a picture at (16 MP): a larger one is shrunk to it first, its faces' boxes given in its own pixels. */
export const MAX_PICTURE_SIDE = 4096;
const WORKER_PATH = './static/js/analysis-worker.js'; // where the worker lies beside this module, unbundled
const HERE = import.meta.url; // (not in a new URL of its own: bundlers would take the path for an asset)
const VIDEO_WAIT_MS = 10000; // how long watch() waits for a video to have something to play
const POOL_WAIT_MS = 15000; // how long WebAssembly's thread pool may take to start before Mien starts again without it
const SOURCE_CHECK_MS = 100; // how often a watched source is checked while no result comes

/** The error every method of Mien rejects with and every 'error' event carries: one sentence and what it is about. */
export class MienError extends Error {
  /**
   * @param {string} message what went wrong and what to do, in one sentence
   * @param {'backend'|'model'|'camera'|'analysis'|'csp'|'worker'|'disposed'|'argument'} topic
   */
  constructor(message, topic) {
    super(message);
    this.name = 'MienError';
    this.topic = topic;
  }
}

const folderUrl = (url) => {
  let resolved;
  try {
    resolved = new URL(url, location.href);
  } catch {
    throw new MienError(`"${url}" is not a URL; give the model's folder as a URL (absolute, or relative to the page).`, 'argument');
  }
  if (!resolved.pathname.endsWith('/')) resolved.pathname += '/';
  return resolved.href;
};

/** A picture the worker can take: an ImageBitmap of any image, canvas, video frame or Blob. */
async function toBitmap(picture) {
  if (typeof ImageBitmap !== 'undefined' && picture instanceof ImageBitmap) {
    if (picture.width === 0) throw new MienError('This ImageBitmap is closed (or empty), so there is nothing to read; give a picture that is still open.', 'argument');
    return picture;
  }
  try {
    return await createImageBitmap(picture);
  } catch {
    throw new MienError('This picture cannot be read (not an image this browser can open); give a JPEG, PNG or WebP photo, a canvas or an image.', 'argument');
  }
}

/** What watching a source means: a MediaStream or a <video>. */
function videoSource(source) {
  if (typeof MediaStream !== 'undefined' && source instanceof MediaStream) return { stream: source, kind: 'camera' };
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) {
    return { video: source, kind: source.srcObject instanceof MediaStream ? 'camera' : 'video' };
  }
  throw new MienError('Mien can watch a MediaStream or a <video> element; give one of them.', 'argument');
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `video` has its metadata; rejects with a sentence when it fails or has none within VIDEO_WAIT_MS. */
function metadataOf(video) {
  const unplayable = () => new MienError(`This video cannot be played (${video.error?.message || 'its file is missing or is not a video'}); give it a source that plays, then call watch.`, 'camera');
  if (video.error) return Promise.reject(unplayable());
  if (video.readyState >= HTMLMediaElement.HAVE_METADATA) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new MienError(`This video had nothing to play within ${VIDEO_WAIT_MS / 1000} s (no source, or one that never loads); give it a source that plays, then call watch.`, 'camera')), VIDEO_WAIT_MS);
    const done = (error) => {
      clearTimeout(timer);
      video.removeEventListener('loadedmetadata', loaded);
      video.removeEventListener('error', failed);
      if (error) reject(error);
      else resolve();
    };
    const loaded = () => done();
    const failed = () => done(unplayable());
    video.addEventListener('loadedmetadata', loaded);
    video.addEventListener('error', failed);
  });
}

const DISPOSED = 'This Mien was disposed of; create a new one with Mien.create().';
const REQUEST_TOPICS = { backend: 'backend', model: 'model', personalise: 'model', profile: 'model', analyse: 'analysis', watch: 'camera' };

export class Mien extends EventTarget {
  /**
   * Start Mien: its worker, the backend and the models. Resolves to a ready Mien, or rejects with
   * a MienError whose message is one sentence saying what went wrong and what to do.
   */
  static async create(options = {}) {
    const mien = new Mien(checkedOptions(options));
    try {
      await mien.#configure(mien.options.backend, mien.options.model, { creating: true });
    } catch (error) {
      mien.dispose();
      throw error;
    }
    return mien;
  }

  #worker = null;
  #ready; // resolves once the worker listens
  #readyNow;
  #broken = null; // the MienError of a worker that could not start
  #poolStart; // called when the worker starts making WebAssembly's thread pool
  #poolStarting = new Promise((resolve) => { this.#poolStart = resolve; });
  #poolStarted = false; // set once it has made it
  #pending = new Map();
  #nextId = 1;
  #session = 0; // grows with every watch and stop: results of an older one are dropped
  #watching = null; // {track, source, video, stream, kind, session, frames} while watching
  #renderer;
  #threads = true; // whether WebAssembly may start its thread pool (false once it failed to start)
  #workerTrackProcessor = false; // whether the worker can read a video track itself (Safari, Chrome)
  #refused = null; // what the page's Content-Security-Policy refused while the worker started
  #disposed = false;
  #sourceCheck = null;
  #profile = null; // as the worker's analyser holds it, its one owner: set once the worker took it
  #modelOption; // the model as asked for (undefined: Mien's own), so that a backend switch loads the same

  constructor(options = DEFAULTS) {
    super();
    if (typeof WebAssembly === 'undefined') {
      throw new MienError('This browser has no WebAssembly, which Mien needs; use a current Chrome, Edge, Firefox or Safari.', 'backend');
    }
    this.options = options;
    this.classes = null; // the expression model's class names, in output order (null: faces only)
    this.backend = null; // the TF.js backend in use: 'webgpu', 'webgl', 'wasm' or 'cpu'
    this.backendDescription = null; // the backend in words: the GPU, or WebAssembly's features
    this.backendNote = null; // a sentence on why this backend, where it was not the one asked for
    this.model = null; // the URL of the expression model in use
    this.modelSha256 = null; // its weights' SHA-256 (metadata.json's), which a profile names it by
    this.#renderer = webglRenderer(); // the page's WebGL settings apply here, not always in workers
    this.#modelOption = options.model;
    this.#startWorker();
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  /** Switch the TF.js backend ('auto', 'webgpu', 'webgl', 'wasm' or 'cpu'), also while watching. */
  async setBackend(name) {
    this.#alive();
    checkBackend(name);
    await this.#configure(name, this.#modelOption);
  }

  /** Use the expression model in the folder at `url` (null: find faces only; undefined: Mien's own), also while watching. */
  async setModel(url) {
    this.#alive();
    const wanted = url == null ? url : folderUrl(url);
    const answer = await this.#request('model', { url: wanted });
    if (answer.superseded) return; // a later call is being served
    this.#modelOption = wanted;
    this.#takeModel(answer, { running: true });
  }

  /**
   * Analyse a camera or video: a MediaStream or a <video> (playing a camera or a file; it may be
   * called before the video plays). Resolves once analysis has started; results come as 'result'
   * events, failures as 'error' events, and an 'ended' event when the source ends or the video
   * loses it. The caller's tracks are never stopped.
   */
  async watch(source) {
    this.#alive();
    const { stream, video, kind } = videoSource(source);
    this.stop();
    const session = ++this.#session;
    const track = await this.#trackOf(stream, video);
    if (session !== this.#session || this.#disposed) return; // stopped, or watching something else, meanwhile
    const own = track.clone(); // stopping ours never stops the caller's
    const watching = { track: own, source: track, video, stream: video ? video.srcObject : stream, src: video?.currentSrc, kind, session };
    this.#watching = watching;
    own.addEventListener('ended', () => this.#lost(session));
    track.addEventListener('ended', () => this.#lost(session), { once: true });
    this.#sourceCheck = setInterval(() => this.#checkSource(), SOURCE_CHECK_MS);
    const settings = { session, source: kind, smoothing: this.options.smoothing };
    watching.frames = this.#frameWay();
    if (watching.frames === 'track') {
      const { readable } = new MediaStreamTrackProcessor({ track: own });
      await this.#request('watch', { ...settings, readable }, [readable]);
      return;
    }
    if (watching.frames === 'worker') {
      try {
        await this.#request('watch', { ...settings, track: own }, [own]);
        return;
      } catch (error) {
        if (error.name !== 'DataCloneError') throw error;
        watching.frames = 'bitmap'; // this browser cannot send a track to a worker
      }
    }
    await this.#request('watch', settings);
    this.#postFrames(session, video ?? await this.#playing(new MediaStream([own])));
  }

  /** How watched frames reach the worker: 'track', 'worker' or 'bitmap' (null when not watching). */
  get frameSource() {
    return this.#watching?.frames ?? null;
  }

  /** Stop analysing what `watch` was given (its tracks go on). */
  stop() {
    this.#session += 1;
    clearInterval(this.#sourceCheck);
    if (!this.#watching) return;
    this.#watching.track.stop();
    if (this.#watching.offPage) this.#watching.offPage.srcObject = null;
    this.#watching = null;
    if (!this.#disposed) this.#request('stop').catch(() => {});
  }

  /**
   * All faces of one picture (an image, canvas, ImageBitmap, VideoFrame, video or Blob), at its full
   * resolution up to MAX_PICTURE_SIDE, searched all over for small faces. Resolves to {faces, width,
   * height, ms, stages}, boxes in the picture's own pixels.
   */
  async analyse(picture) {
    this.#alive();
    let bitmap = await toBitmap(picture);
    const { width, height } = bitmap;
    const scale = Math.min(1, MAX_PICTURE_SIDE / Math.max(width, height));
    if (scale < 1) {
      const whole = bitmap;
      bitmap = await createImageBitmap(whole, { resizeWidth: Math.round(width * scale), resizeHeight: Math.round(height * scale), resizeQuality: 'high' });
      if (whole !== picture) whole.close();
    }
    const { faces, ms, stages } = await this.#request('analyse', { bitmap }, [bitmap]);
    if (scale < 1) for (const face of faces) face.box = face.box.map((value) => Math.round(value / scale));
    return { faces, width, height, ms, stages };
  }

  /**
   * A profile of one person, fitted on the device from `examples` ({class: [...]}, any of the
   * model's classes): pictures (anything analyse takes; the largest face of each is used, a picture
   * without a face is skipped and counted) or faces from results of a Mien created with
   * {features: true}. Resolves to the profile (plain JSON, numbers only, never a picture) without
   * applying it; rejects with a sentence for a class the model does not know or when no usable
   * example is left.
   */
  async personalise(examples) {
    this.#alive();
    if (!this.classes) throw new MienError('No expression model is in use, so there is nothing to personalise.', 'model');
    if (examples === null || typeof examples !== 'object' || Array.isArray(examples)) {
      throw new MienError('personalise takes an object of examples by class, such as {neutral: [picture, ...]}; give one.', 'argument');
    }
    const transfer = [];
    const prepared = {};
    for (const [name, items] of Object.entries(examples)) {
      if (!this.classes.includes(name)) {
        throw new MienError(`The model has no class "${name}"; its classes are ${this.classes.join(', ')}.`, 'argument');
      }
      if (!items || typeof items[Symbol.iterator] !== 'function') {
        throw new MienError(`The examples of "${name}" are not a list; give an array of pictures or faces.`, 'argument');
      }
      prepared[name] = await Promise.all([...items].map(async (item) => {
        if (item?.features && item.frameScores) return { features: item.features, scores: this.classes.map((c) => item.frameScores[c]) };
        const bitmap = await toBitmap(item);
        transfer.push(bitmap);
        return { bitmap };
      }));
    }
    const { profile } = await this.#request('personalise', { examples: prepared }, transfer);
    return profile;
  }

  /** The profile in use (the worker's), or null. */
  get profile() {
    return this.#profile;
  }

  /** Read faces with `profile` (from personalise, or saved), or with the shipped model alone (null). */
  async useProfile(profile) {
    this.#alive();
    await this.#request('profile', { profile });
    this.#profile = profile;
  }

  /** End the worker and everything it holds. Every method called afterwards rejects at once. */
  dispose() {
    if (this.#disposed) return;
    this.stop();
    this.#disposed = true;
    document.removeEventListener('visibilitychange', this.#onVisibility);
    document.removeEventListener('securitypolicyviolation', this.#onRefused);
    this.#worker?.terminate();
    this.#failAll(new MienError(DISPOSED, 'disposed'));
  }

  // --- inside ---------------------------------------------------------------------------------

  #alive() {
    if (this.#disposed) throw new MienError(DISPOSED, 'disposed');
  }

  // While the page is hidden, watching pauses: no frame is analysed.
  #onVisibility = () => {
    this.#request('pause', { hidden: document.hidden }).catch(() => {});
  };

  #onRefused = (event) => {
    if (/^(worker-src|script-src)/.test(event.effectiveDirective)) this.#refused ??= { directive: event.effectiveDirective, blocked: event.blockedURI };
  };

  /** The worker: from its own URL (which bundlers rewrite), or, from another origin, through a same-origin blob. */
  #startWorker() {
    document.addEventListener('securitypolicyviolation', this.#onRefused);
    this.#ready = new Promise((resolve) => { this.#readyNow = resolve; });
    try {
      this.#worker = new Worker(new URL('./static/js/analysis-worker.js', import.meta.url), { type: 'module' });
    } catch (error) {
      if (error.name !== 'SecurityError') throw error;
      // mien.js came from another origin, whose scripts cannot be a worker here: a blob of this page's
      // imports it, and reports what the page's policy refuses on the way.
      const url = new URL(WORKER_PATH, HERE).href;
      const source = `self.addEventListener('securitypolicyviolation', (e) => self.postMessage({ type: 'refused', directive: e.effectiveDirective, blocked: e.blockedURI }));
import(${JSON.stringify(url)}).catch((e) => self.postMessage({ type: 'unloadable', message: String(e.message || e) }));`;
      const blob = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      this.#worker = new Worker(blob, { type: 'module' });
      this.#ready.then(() => URL.revokeObjectURL(blob));
    }
    this.#worker.addEventListener('message', ({ data }) => this.#receive(data));
    this.#worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#workerFailed(event.message);
    });
  }

  /** Why the worker did not start, in one sentence, for every request waiting on it. */
  async #workerFailed(reason) {
    const url = new URL(WORKER_PATH, HERE).href;
    let message;
    if (location.protocol === 'file:') {
      message = 'This page was opened from a file (file://), where browsers start no worker; serve it over http or https (any static server will do).';
    } else if (this.#refused) {
      message = policySentence(this.#refused, location.origin);
    } else {
      const status = await fetch(url, { method: 'HEAD' }).then((response) => response.status, () => null);
      if (status >= 400) message = `Mien's worker was not found at ${url} (the server answered ${status}): the component's files are not served there; serve its whole folder, or follow the README's recipe for your bundler.`;
      else if (status === null) message = `Mien's worker at ${url} could not be fetched (no answer, or its server sends no CORS header); serve the component's folder with Access-Control-Allow-Origin, or from the page's own server.`;
      else message = `Mien's worker could not start (${reason || 'no reason given'}); try a current Chrome, Edge, Firefox or Safari.`;
    }
    this.#broken = new MienError(message, this.#refused ? 'csp' : 'worker');
    this.#failAll(this.#broken);
  }

  async #configure(backend, model, { creating = false } = {}) {
    const request = () => this.#request('backend', {
      requested: backend, renderer: this.#renderer, url: model, features: this.options.features, threads: this.#threads,
    });
    let answer;
    if (this.#threads && wasmThreadsHelp()) {
      // A WebAssembly thread pool that never starts would hang here for ever (seen in Firefox): start again without it.
      const hung = Symbol('hung');
      const watchdog = this.#poolStarting.then(() => delay(POOL_WAIT_MS)).then(() => (this.#poolStarted ? new Promise(() => {}) : hung));
      answer = await Promise.race([request(), watchdog]);
      if (answer === hung) {
        this.#threads = false;
        this.#worker.terminate();
        this.#pending.clear(); // the hung request is dropped with its worker
        this.#startWorker();
        answer = await request();
        answer.note = `WebAssembly's threads did not start within ${POOL_WAIT_MS / 1000} s here, so Mien started again on one thread.`;
      }
    } else {
      answer = await request();
    }
    this.#takeBackend(answer);
    this.#takeModel(answer, { running: !creating });
  }

  /** The way frames will reach the worker, by the option and what this browser has. */
  #frameWay() {
    const { frames } = this.options;
    const pageProcessor = typeof MediaStreamTrackProcessor !== 'undefined';
    if (frames === 'bitmap') return 'bitmap';
    if (frames === 'worker' || (frames === 'auto' && !pageProcessor)) return this.#workerTrackProcessor ? 'worker' : 'bitmap';
    return pageProcessor ? 'track' : 'bitmap';
  }

  #takeBackend({ name, description, note }) {
    Object.assign(this, { backend: name, backendDescription: description, backendNote: note });
  }

  /** The model the worker loaded; `running`: Mien goes on (finding faces) when it could not load one, as after create it does not. */
  #takeModel({ url, classes, sha256, problem }, { running }) {
    if (problem || url !== this.model) this.#profile = null; // a profile belongs to one model
    this.model = problem ? null : url;
    this.classes = problem ? null : classes;
    this.modelSha256 = problem ? null : sha256 ?? null;
    if (problem) throw new MienError(running ? `${problem} Faces are still found.` : problem, /Content-Security-Policy/.test(problem) ? 'csp' : 'model');
  }

  async #trackOf(stream, video) {
    if (stream) {
      const [track] = stream.getVideoTracks();
      if (!track || track.readyState === 'ended') throw new MienError('This stream has no live video track; give the stream of a camera that runs.', 'camera');
      return track;
    }
    if (video.srcObject instanceof MediaStream) return this.#trackOf(video.srcObject);
    await metadataOf(video);
    const captured = video.captureStream?.() ?? video.mozCaptureStream?.();
    if (!captured) throw new MienError('This browser cannot take frames from a video file; watch a camera stream instead.', 'camera');
    if (captured.getVideoTracks().length === 0) await new Promise((resolve) => captured.addEventListener('addtrack', resolve, { once: true }));
    return captured.getVideoTracks()[0];
  }

  /** An off-page video playing `stream`, for frames posted from the page. */
  async #playing(stream) {
    const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true, srcObject: stream });
    await video.play();
    this.#watching.offPage = video;
    return video;
  }

  /**
   * Where the worker cannot read the track: post each frame of `video` as it is shown, without
   * waiting for the answer (the worker keeps the newest while it analyses one).
   */
  #postFrames(session, video) {
    let videoFrames = typeof VideoFrame === 'function';
    const step = async () => {
      if (session !== this.#session) return; // stopped
      if (!document.hidden && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        let frame = null;
        try {
          frame = videoFrames ? new VideoFrame(video) : await createImageBitmap(video);
          this.#worker.postMessage({ type: 'frame', session, frame }, [frame]);
        } catch (error) {
          frame?.close();
          if (videoFrames) videoFrames = false; // this browser cannot send a VideoFrame: bitmaps from now on
          else this.#dispatch('error', new MienError(`A frame could not be read (${error.message}); try another browser.`, 'analysis'));
        }
      }
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(step);
      else requestAnimationFrame(step);
    };
    step();
  }

  /** Whether the watched source is gone: its track stopped (by script: no event) or the video lost its source. */
  #checkSource() {
    const watching = this.#watching;
    if (!watching) return;
    const { source, video, stream, src } = watching;
    const lostSource = video && (video.srcObject !== stream || (src !== undefined && !video.srcObject && video.currentSrc !== src));
    if (source.readyState === 'ended' || lostSource) this.#lost(watching.session);
  }

  #lost(session) {
    if (session !== this.#session || !this.#watching) return;
    const { kind } = this.#watching;
    this.stop();
    this.#dispatch('ended', { source: kind, message: `The ${kind === 'camera' ? 'camera' : 'video'} ended (stopped, unplugged, or its source removed by the page), so Mien stopped watching it.` });
  }

  #receive(data) {
    const answer = this.#pending.get(data.id);
    if (answer) {
      this.#pending.delete(data.id);
      if (data.ok) answer.resolve(data);
      else answer.reject(new MienError(data.message, data.topic ?? answer.topic));
      return;
    }
    switch (data.type) {
      case 'ready':
        this.#workerTrackProcessor = data.trackProcessor;
        this.#readyNow();
        break;
      case 'pool':
        if (data.started) this.#poolStarted = true;
        else this.#poolStart();
        break;
      case 'result':
        if (data.session === this.#session) {
          this.#checkSource();
          if (data.session === this.#session) this.#dispatch('result', withoutEnvelope(data));
        }
        break;
      case 'ended':
        this.#lost(data.session);
        break;
      case 'refused':
        this.#refused ??= data;
        break;
      case 'unloadable':
        this.#workerFailed(data.message);
        break;
      case 'backend': // switched by itself: the GPU's context was lost
        this.#takeBackend(data);
        this.#dispatch('backend', { name: data.name, description: data.description });
        this.#dispatch('error', new MienError(data.note, 'backend'));
        break;
      case 'error':
        if (data.session === undefined || data.session === this.#session) this.#dispatch('error', new MienError(data.message, data.topic));
        break;
      default:
    }
  }

  #dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async #request(type, message = {}, transfer = []) {
    if (this.#disposed) throw new MienError(DISPOSED, 'disposed');
    await this.#ready;
    if (this.#broken || this.#disposed) throw this.#broken ?? new MienError(DISPOSED, 'disposed');
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, topic: REQUEST_TOPICS[type] ?? 'analysis' });
      try {
        this.#worker.postMessage({ ...message, id, type }, transfer);
      } catch (error) {
        this.#pending.delete(id);
        reject(error);
      }
    });
  }

  #failAll(error) {
    for (const answer of this.#pending.values()) answer.reject(error);
    this.#pending.clear();
    this.#readyNow(); // requests still waiting for the worker are refused at once
  }
}

const withoutEnvelope = ({ session, type, id, ok, ...detail }) => detail;

function checkBackend(name) {
  if (name !== 'auto' && !BACKENDS.includes(name)) {
    throw new MienError(`"${name}" is no backend; use 'auto' or one of ${BACKENDS.join(', ')}.`, 'argument');
  }
}

/** Mien.create's options, checked: a wrong value is refused with a sentence, an unknown name is a warning. */
function checkedOptions(options) {
  if (options === null || typeof options !== 'object') throw new MienError('Mien.create takes an object of options (or nothing); see DEFAULTS.', 'argument');
  const unknown = Object.keys(options).filter((name) => !(name in DEFAULTS));
  if (unknown.length) console.warn(`Mien: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (ignored); the options are ${Object.keys(DEFAULTS).join(', ')}.`);
  const checked = { ...DEFAULTS, ...options };
  checkBackend(checked.backend);
  if (!FRAMES.includes(checked.frames)) throw new MienError(`"${checked.frames}" is no way of sending frames; use one of ${FRAMES.join(', ')}.`, 'argument');
  if (checked.model != null) checked.model = folderUrl(checked.model);
  return checked;
}
