// Mien: facial expressions, found and read in any page, on the visitor's own device.
//
//   import { Mien } from 'https://host/mien.js';
//   const mien = await Mien.create();                    // the model next to mien.js, the best backend
//   mien.addEventListener('result', (event) => console.log(event.detail.faces));
//   await mien.watch(videoElementOrMediaStream);
//   const { faces } = await mien.analyse(imageOrCanvasOrBitmapOrBlob);
//
// The networks (TF.js, MediaPipe's BlazeFace and Mien's expression model) run in a worker: this
// module only passes messages. Every file the worker needs is found next to this module (or at
// `base`), so the folder can be served from any host or CDN; a page on another origin starts the
// worker through a same-origin blob that imports it. See the README's "Use Mien in your page".

import { BACKENDS, webglRenderer } from './static/js/backend.js';

export { BACKENDS };
const BASE = new URL('./', import.meta.url);

/** Options of Mien.create, each with its default. */
export const DEFAULTS = Object.freeze({
  base: BASE.href, // where mien.js's folder is served (static/, vendor/, models/ beside it)
  model: undefined, // the expression model's folder URL; undefined: models/model/ under base; null: faces only
  backend: 'auto', // 'auto', 'webgl', 'wasm' or 'cpu'
  smoothing: true, // smooth boxes and scores over frames while watching
  features: false, // give each face its features (the network's penultimate layer), as personalise takes them
  frames: 'auto', // how watched frames reach the worker: 'auto', 'track' (MediaStreamTrackProcessor) or 'bitmap'
});

const folderUrl = (url, base) => {
  const resolved = new URL(url, base);
  if (!resolved.pathname.endsWith('/')) resolved.pathname += '/';
  return resolved.href;
};

/** A module worker at `url`, also from another origin (a worker script must be same-origin; a blob is). */
function startWorker(url) {
  if (url.origin === location.origin) return new Worker(url, { type: 'module' });
  const source = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' }));
  const worker = new Worker(source, { type: 'module' });
  worker.addEventListener('message', () => URL.revokeObjectURL(source), { once: true });
  return worker;
}

/** A picture the worker can take: an ImageBitmap of any image, canvas, video frame or Blob. */
async function toBitmap(picture) {
  if (typeof ImageBitmap !== 'undefined' && picture instanceof ImageBitmap) return picture;
  try {
    return await createImageBitmap(picture);
  } catch {
    throw new Error('This picture cannot be read (not an image this browser can open); give a JPEG, PNG or WebP photo, a canvas or an image.');
  }
}

/** Why watching a source cannot start, or null: a MediaStream or a <video> is wanted. */
function videoSource(source) {
  if (typeof MediaStream !== 'undefined' && source instanceof MediaStream) return { stream: source, kind: 'camera' };
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement) {
    return { video: source, kind: source.srcObject instanceof MediaStream ? 'camera' : 'video' };
  }
  throw new Error('Mien can watch a MediaStream or a <video> element; give one of them.');
}

const once = (target, name) => new Promise((resolve) => target.addEventListener(name, resolve, { once: true }));

export class Mien extends EventTarget {
  /**
   * Start Mien: its worker, the backend and the models. Resolves to a ready Mien, or rejects with
   * an Error whose message is one sentence saying what went wrong and what to do.
   */
  static async create(options = {}) {
    const mien = new Mien({ ...DEFAULTS, ...options });
    try {
      await mien.#configure(mien.options.backend, mien.options.model);
    } catch (error) {
      mien.dispose();
      throw error;
    }
    return mien;
  }

  #worker;
  #pending = new Map();
  #nextId = 1;
  #session = 0; // grows with every watch and stop: results of an older one are dropped
  #watching = null; // {track, video, kind, session} while watching
  #renderer;

  constructor(options) {
    super();
    if (typeof WebAssembly === 'undefined') {
      throw new Error('This browser has no WebAssembly, which Mien needs; use a current Chrome, Edge, Firefox or Safari.');
    }
    this.options = options;
    this.base = folderUrl(options.base, location.href);
    this.classes = null; // the expression model's class names, in output order (null: faces only)
    this.backend = null; // the TF.js backend in use: 'webgl', 'wasm' or 'cpu'
    this.backendDescription = null; // the backend in words: the GPU, or WebAssembly's features
    this.backendNote = null; // a sentence on why this backend, where it was not the one asked for
    this.model = null; // the URL of the expression model in use
    this.modelSha256 = null; // its weights' SHA-256 (metadata.json's), which a profile names it by
    this.profile = null; // the person's profile in use, or null
    this.#renderer = webglRenderer(); // the page's WebGL settings apply here, not always in workers
    this.#worker = startWorker(new URL('static/js/analysis-worker.js', this.base));
    this.#worker.addEventListener('message', ({ data }) => this.#receive(data));
    this.#worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.#failAll(new Error(`Mien's worker could not start (${event.message || 'no reason given'}); check that the page can load ${this.base} (CORS), or try a current Chrome, Edge, Firefox or Safari.`));
    });
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  // While the page is hidden, watching pauses: no frame is read.
  #onVisibility = () => {
    this.#request('pause', { hidden: document.hidden }).catch(() => {});
    if (!document.hidden && this.#watching?.frames === 'bitmap') this.#postBitmaps(this.#watching.session, this.#watching.video);
  };

  /** Switch the TF.js backend ('auto', 'webgl', 'wasm' or 'cpu'), also while watching. */
  async setBackend(name) {
    await this.#configure(name, this.model);
  }

  /** Use the expression model in the folder at `url` (null: find faces only), also while watching. */
  async setModel(url) {
    const answer = await this.#request('model', { url: this.#modelUrl(url) });
    if (answer.superseded) return; // a later call is being served
    this.#takeModel(answer);
  }

  /**
   * Analyse a camera or video: a MediaStream or a <video> (playing a camera or a file; it may be
   * called before the video plays). Resolves once analysis has started; results come as 'result'
   * events ({source: 'camera' or 'video', faces, width, height, ms, stages, fps, msPerFrame}), failures
   * as 'error' events. The caller's tracks are never stopped.
   */
  async watch(source) {
    this.stop();
    const { stream, video, kind } = videoSource(source);
    const session = ++this.#session;
    const track = await this.#trackOf(stream, video);
    if (session !== this.#session) return; // stopped, or watching something else, meanwhile
    const own = track.clone(); // stopping ours never stops the caller's
    this.#watching = { track: own, kind, session };
    own.addEventListener('ended', () => this.#lost(session));
    track.addEventListener('ended', () => this.#lost(session), { once: true });
    const frames = this.options.frames === 'bitmap' || typeof MediaStreamTrackProcessor === 'undefined' ? 'bitmap' : 'track';
    this.#watching.frames = frames;
    const settings = { session, source: kind, smoothing: this.options.smoothing };
    if (frames === 'track') {
      const { readable } = new MediaStreamTrackProcessor({ track: own });
      await this.#request('watch', { ...settings, readable }, [readable]);
    } else {
      await this.#request('watch', settings);
      this.#postBitmaps(session, video ?? await this.#playing(new MediaStream([own])));
    }
  }

  /** How watched frames reach the worker: 'track' or 'bitmap' (null when not watching). */
  get frameSource() {
    return this.#watching?.frames ?? null;
  }

  /** Stop analysing what `watch` was given (its tracks go on). */
  stop() {
    this.#session += 1;
    if (!this.#watching) return;
    this.#watching.track.stop();
    this.#watching.video?.remove?.();
    this.#watching = null;
    this.#request('stop').catch(() => {});
  }

  /**
   * All faces of one picture (an image, canvas, ImageBitmap, VideoFrame, video or Blob), at its full
   * resolution, searched all over for small faces. Resolves to {faces, width, height, ms, stages}.
   */
  async analyse(picture) {
    const bitmap = await toBitmap(picture);
    const { faces, width, height, ms, stages } = await this.#request('analyse', { bitmap }, [bitmap]);
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
    if (!this.classes) throw Object.assign(new Error('No expression model is in use, so there is nothing to personalise.'), { topic: 'model' });
    const transfer = [];
    const prepared = {};
    for (const [name, items] of Object.entries(examples)) {
      if (!this.classes.includes(name)) {
        throw new Error(`The model has no class "${name}"; its classes are ${this.classes.join(', ')}.`);
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

  /** Read faces with `profile` (from personalise, or saved), or with the shipped model alone (null). */
  async useProfile(profile) {
    await this.#request('profile', { profile });
    this.profile = profile;
  }

  /** End the worker and everything it holds. */
  dispose() {
    this.stop();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#worker?.terminate();
    this.#failAll(new Error('This Mien was disposed of.'));
  }

  // --- inside ---------------------------------------------------------------------------------

  async #configure(backend, model) {
    let answer;
    try {
      answer = await this.#request('backend', {
        requested: backend, renderer: this.#renderer, url: this.#modelUrl(model), features: this.options.features,
      });
    } catch (error) {
      throw Object.assign(error, { topic: 'backend' });
    }
    this.#takeBackend(answer);
    this.#takeModel(answer);
  }

  #modelUrl(url) {
    if (url === null) return null;
    return folderUrl(url ?? 'models/model/', this.base);
  }

  #takeBackend({ name, description, note }) {
    Object.assign(this, { backend: name, backendDescription: description, backendNote: note });
  }

  #takeModel({ url, classes, sha256, problem }) {
    if (problem || url !== this.model) this.profile = null; // a profile belongs to one model
    this.model = problem ? null : url;
    this.classes = problem ? null : classes;
    this.modelSha256 = problem ? null : sha256 ?? null;
    if (problem) throw Object.assign(new Error(problem), { topic: 'model' });
  }

  async #trackOf(stream, video) {
    if (stream) {
      const [track] = stream.getVideoTracks();
      if (!track || track.readyState === 'ended') throw new Error('This stream has no live video track; give the stream of a camera that runs.');
      return track;
    }
    if (video.srcObject instanceof MediaStream) return this.#trackOf(video.srcObject);
    if (!video.currentSrc && !video.src) await once(video, 'loadedmetadata');
    if (video.readyState < HTMLMediaElement.HAVE_METADATA) await once(video, 'loadedmetadata');
    const captured = video.captureStream?.() ?? video.mozCaptureStream?.();
    if (!captured) throw new Error('This browser cannot take frames from a video file; watch a camera stream instead.');
    if (captured.getVideoTracks().length === 0) await once(captured, 'addtrack');
    return captured.getVideoTracks()[0];
  }

  /** An off-page video playing `stream`, for browsers without frames from the track. */
  async #playing(stream) {
    const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true, srcObject: stream });
    await video.play();
    this.#watching.video = video;
    return video;
  }

  /** Where a browser lacks frames from the track: post a bitmap of the video whenever the worker is free. */
  #postBitmaps(session, video) {
    const step = async () => {
      if (session !== this.#session || document.hidden) return; // stopped, or hidden: visibilitychange restarts it
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) {
        try {
          const bitmap = await createImageBitmap(video);
          this.#result(await this.#request('frame', { bitmap, session }, [bitmap]));
        } catch (error) {
          this.#dispatch('error', { message: error.message, topic: 'analysis' });
        }
      }
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(step);
      else requestAnimationFrame(step);
    };
    step();
  }

  #lost(session) {
    if (session !== this.#session) return;
    this.stop();
    this.#dispatch('error', { message: 'The camera or video ended (unplugged, or stopped by another part of the page), so Mien stopped watching it.', topic: 'camera' });
  }

  #result({ session, superseded, type, id, ok, ...detail }) {
    if (session === this.#session && !superseded) this.#dispatch('result', detail);
  }

  #receive(data) {
    const answer = this.#pending.get(data.id);
    if (answer) {
      this.#pending.delete(data.id);
      if (data.ok) answer.resolve(data);
      else answer.reject(new Error(data.message));
    } else if (data.type === 'result') {
      this.#result(data);
    } else if (data.type === 'backend') { // switched by itself: the GPU's context was lost
      this.#takeBackend(data);
      this.#dispatch('backend', { name: data.name, description: data.description });
      this.#dispatch('error', { message: data.note, topic: 'backend' });
    } else if (data.type === 'error') {
      this.#dispatch('error', { message: data.message, topic: data.topic });
    }
  }

  #dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #request(type, message = {}, transfer = []) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id, type }, transfer);
    });
  }

  #failAll(error) {
    for (const answer of this.#pending.values()) answer.reject(error);
    this.#pending.clear();
  }
}
