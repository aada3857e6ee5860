// <mien-camera>: the camera with a box, a label and bars for every face, for pages without code.
//
//   <script type="module" src="https://host/mien-camera.js"></script>
//   <mien-camera model="https://host/models/model/" backend="auto"></mien-camera>
//
// Attributes mirror Mien.create's options (model, backend, smoothing="off", frames); changing
// model or backend switches while it runs. It opens one camera when it enters the page, keeps it
// when the element is only moved, and lets it go when it leaves. Events, bubbling out of it:
// 'result' (as Mien's) and 'error' (a MienError, as Mien's); the running Mien is its `mien`
// property. Importing it where there is no DOM (a server-side render) defines nothing.

import { Mien, MienError } from './mien.js';
import { drawFaces } from './static/js/overlay.js';

const STYLE = `
  :host { display: block; position: relative; background: #11151a; aspect-ratio: 4 / 3; overflow: hidden; }
  video, canvas { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; }
  video { transform: scaleX(-1); }
  p { position: absolute; inset: auto 0 0; margin: 0; padding: 0.5rem 0.75rem; color: #fff; background: rgb(17 21 26 / 80%); font: 0.9rem system-ui, sans-serif; }
  p:empty { display: none; }
`;

const Element = globalThis.HTMLElement ?? class {};

export class MienCamera extends Element {
  static observedAttributes = ['model', 'backend'];

  #video;
  #overlay;
  #message;
  #stream = null;
  #run = 0; // grows with every start and stop: a start overtaken by a stop gives up what it opened
  #running = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    root.adoptedStyleSheets = [sheet];
    this.#video = Object.assign(document.createElement('video'), { muted: true, playsInline: true });
    this.#overlay = document.createElement('canvas');
    this.#message = Object.assign(document.createElement('p'), { role: 'status' });
    root.append(this.#video, this.#overlay, this.#message);
    this.mien = null;
  }

  connectedCallback() {
    if (!this.#running) this.#start();
  }

  disconnectedCallback() {
    // Moved to another parent, the element is connected again before this runs: it keeps its camera.
    queueMicrotask(() => { if (!this.isConnected) this.#stop(); });
  }

  async attributeChangedCallback(name, before, after) {
    if (!this.mien || before === after) return;
    try {
      if (name === 'model') await this.mien.setModel(after ?? undefined);
      else await this.mien.setBackend(after ?? 'auto');
    } catch (error) {
      this.#fail(error);
    }
  }

  async #start() {
    const run = ++this.#run;
    this.#running = true;
    let mien = null;
    let stream = null;
    try {
      mien = await Mien.create({
        ...(this.hasAttribute('model') ? { model: this.getAttribute('model') } : {}),
        backend: this.getAttribute('backend') ?? 'auto',
        smoothing: this.getAttribute('smoothing') !== 'off',
        frames: this.getAttribute('frames') ?? 'auto',
      });
      if (run !== this.#run) return mien.dispose(); // removed meanwhile
      this.mien = mien;
      mien.addEventListener('result', ({ detail }) => this.#show(detail));
      mien.addEventListener('error', ({ detail }) => this.#fail(detail));
      mien.addEventListener('ended', ({ detail }) => this.#fail(new MienError(detail.message, 'camera')));
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      if (run !== this.#run) return stream.getTracks().forEach((track) => track.stop()); // removed meanwhile
      this.#stream = stream;
      this.#video.srcObject = stream;
      await this.#video.play();
      await mien.watch(stream);
    } catch (error) {
      if (run !== this.#run) return undefined;
      this.#fail(error.name === 'NotAllowedError' ? new MienError('Camera access was denied; allow the camera for this site.', 'camera')
        : error instanceof MienError ? error : new MienError(error.message, 'camera'));
    }
    return undefined;
  }

  #show(result) {
    drawFaces(this.#overlay, result.faces, { width: result.width, height: result.height, mirrored: true });
    this.#message.textContent = result.faces.length ? '' : 'No face in view.';
    this.dispatchEvent(new CustomEvent('result', { detail: result, bubbles: true, composed: true }));
  }

  #fail(error) {
    this.#message.textContent = error.message;
    this.dispatchEvent(new CustomEvent('error', { detail: error, bubbles: true, composed: true }));
  }

  #stop() {
    this.#run += 1;
    this.#running = false;
    this.mien?.dispose();
    this.mien = null;
    this.#stream?.getTracks().forEach((track) => track.stop()); // the element's own camera
    this.#stream = null;
  }
}

if (globalThis.customElements && !customElements.get('mien-camera')) customElements.define('mien-camera', MienCamera);
