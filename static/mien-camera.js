// <mien-camera>: the camera with a box, a label and bars for every face, for pages without code.
//
//   <script type="module" src="https://host/mien-camera.js"></script>
//   <mien-camera model="https://host/models/model/" backend="auto"></mien-camera>
//
// Attributes mirror Mien.create's options (model, backend, smoothing="off", frames); changing
// model or backend switches while it runs. It asks for the camera when it enters the page and
// lets it go when it leaves. Events, bubbling out of it: 'result' (as Mien's) and 'error'
// ({message}); the running Mien is its `mien` property.

import { Mien } from './mien.js';
import { drawFaces } from './static/js/overlay.js';

const STYLE = `
  :host { display: block; position: relative; background: #11151a; aspect-ratio: 4 / 3; overflow: hidden; }
  video, canvas { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; }
  video { transform: scaleX(-1); }
  p { position: absolute; inset: auto 0 0; margin: 0; padding: 0.5rem 0.75rem; color: #fff; background: rgb(17 21 26 / 80%); font: 0.9rem system-ui, sans-serif; }
  p:empty { display: none; }
`;

export class MienCamera extends HTMLElement {
  static observedAttributes = ['model', 'backend'];

  #video;
  #overlay;
  #message;
  #stream = null;

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
    this.#start();
  }

  disconnectedCallback() {
    this.#stop();
  }

  async attributeChangedCallback(name, before, after) {
    if (!this.mien || before === after) return;
    try {
      if (name === 'model') await this.mien.setModel(after ?? undefined);
      else await this.mien.setBackend(after ?? 'auto');
    } catch (error) {
      this.#fail(error.message);
    }
  }

  async #start() {
    try {
      this.mien = await Mien.create({
        ...(this.hasAttribute('model') ? { model: this.getAttribute('model') } : {}),
        backend: this.getAttribute('backend') ?? 'auto',
        smoothing: this.getAttribute('smoothing') !== 'off',
        frames: this.getAttribute('frames') ?? 'auto',
      });
      this.mien.addEventListener('result', ({ detail }) => this.#show(detail));
      this.mien.addEventListener('error', ({ detail }) => this.#fail(detail.message));
      this.#stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      if (!this.isConnected) return this.#stop();
      this.#video.srcObject = this.#stream;
      await this.#video.play();
      await this.mien.watch(this.#stream);
    } catch (error) {
      this.#fail(error.name === 'NotAllowedError' ? 'Camera access was denied; allow the camera for this site.' : error.message);
    }
    return undefined;
  }

  #show(result) {
    drawFaces(this.#overlay, result.faces, { width: result.width, height: result.height, mirrored: true });
    this.#message.textContent = result.faces.length ? '' : 'No face in view.';
    this.dispatchEvent(new CustomEvent('result', { detail: result, bubbles: true, composed: true }));
  }

  #fail(message) {
    this.#message.textContent = message;
    this.dispatchEvent(new CustomEvent('error', { detail: { message }, bubbles: true, composed: true }));
  }

  #stop() {
    this.mien?.dispose();
    this.mien = null;
    this.#stream?.getTracks().forEach((track) => track.stop()); // the element's own camera
    this.#stream = null;
  }
}

if (!customElements.get('mien-camera')) customElements.define('mien-camera', MienCamera);
