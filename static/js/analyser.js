// The page's side of the analysis worker (analysis-worker.js): requests that resolve with the
// worker's answer, and camera frames handed over without the main thread touching their pixels.

export class Analyser {
  /** `onMessage` receives what the worker says unasked: camera results, backend changes, errors. */
  constructor(onMessage) {
    this.worker = new Worker(new URL('./analysis-worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.addEventListener('message', ({ data }) => {
      const answer = this.pending.get(data.id);
      if (!answer) {
        onMessage(data);
        return;
      }
      this.pending.delete(data.id);
      if (data.ok) answer.resolve(data);
      else answer.reject(new Error(data.message));
    });
    this.worker.addEventListener('error', (event) => {
      event.preventDefault();
      const error = new Error(`the analysis worker failed to start (${event.message || 'no reason given'})`);
      for (const answer of this.pending.values()) answer.reject(error);
      this.pending.clear();
      onMessage({ type: 'error', topic: 'backend', message: `${error.message}; try a current Chrome, Edge, Firefox or Safari.` });
    });
  }

  /** Ask the worker to do `type`; resolves to its answer. `transfer` lists what moves to it. */
  request(type, message = {}, transfer = []) {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id, type }, transfer);
    });
  }
}

/**
 * How camera frames reach the worker. 'track': the camera track's own frames, streamed to the
 * worker by MediaStreamTrackProcessor, so the main thread never reads a frame (Chrome, Edge).
 * 'bitmap': an ImageBitmap of the shown video, made and posted whenever the worker is free.
 * `?frames=bitmap` in the address forces the second.
 */
export function frameSource() {
  const forced = new URLSearchParams(location.search).get('frames');
  if (forced === 'bitmap' || typeof MediaStreamTrackProcessor === 'undefined') return 'bitmap';
  return 'track';
}
