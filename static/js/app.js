// Mien's page: webcam or photo in, a box, a label and a bar per class for every face out.
// Everything runs in this tab with TensorFlow.js; no picture leaves the device.
//
// The live state is exposed for tests and benchmarks as window.mien.state:
// {backend, ready, fps, msPerFrame, frames, faces: [{box: [x, y, w, h], label, scores: {name: p}}]}
// with boxes in the picture's own pixels (not mirrored); frames counts the pictures analysed.

import { BACKENDS, chooseBackend, describeBackend, watchContextLoss } from './backend.js';
import { Camera, cameraErrorMessage } from './camera.js';
import { ExpressionModel } from './classifier.js';
import { FaceDetector } from './detector.js';
import { clearOverlay, drawFaces } from './overlay.js';
import { readPixels } from './pixels.js';
import { FaceTracker } from './tracker.js';

const { tf } = window;
const DETECTOR_URL = '/vendor/face-detector/facemesh-detection-short.json';
const TIMING_WINDOW = 30; // frames over which fps and ms per frame are measured
const MAX_PHOTO_SIDE = 1280;

const $ = (id) => document.getElementById(id);
const ui = {
  stage: $('stage'), video: $('video'), photo: $('photo'), overlay: $('overlay'), placeholder: $('placeholder'),
  messages: $('messages'), cameraToggle: $('camera-toggle'), cameraSelect: $('camera-select'),
  photoInput: $('photo-input'), modelSelect: $('model-select'), backendSelect: $('backend-select'),
  backendName: $('backend-name'), speed: $('speed'), faces: $('faces'),
};

const state = { backend: null, ready: false, fps: 0, msPerFrame: 0, frames: 0, faces: [] };
window.mien = { state };

let detector = null;
let expressionModel = null;
let modelUrl = null;
let loop = 0; // increases whenever the running analysis loop must stop
let busy = false;
const tracker = new FaceTracker();
const pictureCopy = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
const timings = [];
const camera = new Camera(ui.video, {
  onEnded: () => {
    stopCamera();
    showMessage('camera', 'The camera was disconnected. Plug it back in and press Start camera, or choose a photo.');
    refreshCameraList();
  },
});

// --- messages: one per topic (backend, model, camera, photo, analysis), so none hides another ---

function showMessage(topic, text, kind = 'error') {
  let line = ui.messages.querySelector(`[data-topic="${topic}"]`);
  if (!line) {
    line = Object.assign(document.createElement('p'), { role: kind === 'error' ? 'alert' : 'status' });
    line.dataset.topic = topic;
    ui.messages.append(line);
  }
  line.className = `message ${kind}`;
  line.textContent = text;
}

function clearMessage(topic) {
  ui.messages.querySelector(`[data-topic="${topic}"]`)?.remove();
}

// --- models and backends ------------------------------------------------------------------------

async function loadModels() {
  state.ready = false;
  detector?.dispose();
  expressionModel?.dispose();
  detector = null;
  expressionModel = null;
  try {
    detector = await FaceDetector.load(tf, DETECTOR_URL);
  } catch (error) {
    console.error(error);
    showMessage('model', 'The face detector could not be loaded, so no face can be found. The server may lack its npm packages (run npm ci there).');
    return;
  }
  if (!modelUrl) return; // no expression model: boxes only, and the message says why
  try {
    expressionModel = await ExpressionModel.load(tf, modelUrl);
    clearMessage('model');
  } catch (error) {
    console.error(error);
    showMessage('model', `The expression model at ${modelUrl} could not be loaded (${error.message}). Faces are still found; export the model again on the server.`);
    return;
  }
  state.ready = true;
}

async function useBackend(requested) {
  loop += 1; // pause analysis while models move to the new backend
  try {
    const { name, note } = await chooseBackend(tf, requested);
    state.backend = name;
    ui.backendName.textContent = await describeBackend(tf);
    if (note) showMessage('backend', note, 'info');
    else clearMessage('backend');
  } catch (error) {
    showMessage('backend', `${error.message} Try another browser.`);
    return;
  }
  watchContextLoss(tf, async () => {
    ui.backendSelect.value = 'wasm';
    await useBackend('wasm');
    showMessage('backend', 'The GPU stopped answering (its WebGL context was lost), so Mien switched to WebAssembly.');
  });
  await loadModels();
  resume();
}

/** After a model or backend change: carry on with the camera, or analyse the photo again. */
function resume() {
  if (camera.active) startLoop();
  else if (!ui.photo.hidden) analyseShownPhoto();
}

/** Analyse the shown photo: as it is, not mirrored, without smoothing from earlier frames. */
function analyseShownPhoto() {
  return analyse(ui.photo, { width: ui.photo.width, height: ui.photo.height, smooth: false, mirrored: false });
}

async function listModels() {
  try {
    const models = await (await fetch('/models.json')).json();
    ui.modelSelect.replaceChildren(...models.map((model) => new Option(
      `${model.classes.join(', ')}${model.validation_accuracy ? ` (${Math.round(model.validation_accuracy * 100)}% on validation)` : ''}`,
      model.url,
    )));
    ui.modelSelect.disabled = models.length < 2;
    if (models.length > 0) return models[0].url;
    const health = await (await fetch('/healthz')).json();
    showMessage('model', `No expression model is installed on this server: ${health.model.problem} Faces are still found.`);
  } catch (error) {
    showMessage('model', `The server could not list its models (${error.message}); reload the page once it runs again.`);
  }
  return null;
}

// --- analysis -----------------------------------------------------------------------------------

/** Find and classify the faces in a video or canvas; update the overlay, the list and the state. */
async function analyse(source, { width, height, smooth, mirrored }) {
  if (!detector || busy) return;
  busy = true;
  const started = performance.now();
  let found;
  try {
    const pixels = await readPixels(source, width, height, pictureCopy); // read once, used by both
    const boxes = await detector.detect(pixels);
    const scores = expressionModel ? await expressionModel.classify(pixels, boxes) : boxes.map(() => null);
    found = boxes.map((face, index) => ({ box: face.box, scores: scores[index] }));
  } finally {
    busy = false;
  }
  const faces = (smooth ? tracker.update(found) : found).map(describeFace);
  recordTiming(performance.now() - started);
  state.frames += 1;
  state.faces = faces;
  drawFaces(ui.overlay, faces, { width, height, mirrored });
  renderFaceList(faces);
}

function describeFace({ box, scores }) {
  const face = { box: box.map(Math.round), label: null, scores: {} };
  if (scores && expressionModel) {
    expressionModel.classes.forEach((name, index) => { face.scores[name] = scores[index]; });
    face.label = expressionModel.classes[scores.indexOf(Math.max(...scores))];
  }
  return face;
}

function recordTiming(milliseconds) {
  timings.push({ at: performance.now(), milliseconds });
  if (timings.length > TIMING_WINDOW) timings.shift();
  const sorted = timings.map((timing) => timing.milliseconds).sort((a, b) => a - b);
  state.msPerFrame = sorted[Math.floor(sorted.length / 2)];
  const span = timings.at(-1).at - timings[0].at;
  state.fps = span > 0 ? (1000 * (timings.length - 1)) / span : 0;
  ui.speed.textContent = `${state.fps.toFixed(1)} fps · ${state.msPerFrame.toFixed(0)} ms per frame`;
}

function renderFaceList(faces) {
  if (faces.length === 0) {
    ui.faces.replaceChildren(Object.assign(document.createElement('li'), {
      className: 'empty', textContent: camera.active ? 'No face in view.' : 'No face found in this photo.',
    }));
    return;
  }
  ui.faces.replaceChildren(...faces.map((face, index) => {
    const item = document.createElement('li');
    const title = document.createElement('div');
    title.append(`Face ${index + 1}: `, Object.assign(document.createElement('span'), {
      className: 'label', textContent: face.label ?? 'no expression model',
    }));
    item.append(title);
    for (const [name, probability] of Object.entries(face.scores)) {
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.append(name, Object.assign(document.createElement('meter'), { min: 0, max: 1, value: probability }),
        Object.assign(document.createElement('span'), { className: 'value', textContent: `${Math.round(probability * 100)}%` }));
      item.append(bar);
    }
    return item;
  }));
}

// --- the camera loop, driven by the video's frames -------------------------------------------------

function startLoop() {
  const id = ++loop;
  const next = () => {
    if (id !== loop || !camera.active || document.hidden) return;
    if ('requestVideoFrameCallback' in HTMLVideoElement.prototype) ui.video.requestVideoFrameCallback(step);
    else requestAnimationFrame(step);
  };
  const step = async () => {
    if (id !== loop) return;
    if (ui.video.readyState >= 2) {
      try {
        await analyse(ui.video, { width: ui.video.videoWidth, height: ui.video.videoHeight, smooth: true, mirrored: true });
      } catch (error) {
        console.error(error);
        showMessage('analysis', `Analysing the picture failed (${error.message}); try another backend.`);
      }
    }
    next();
  };
  next();
}

async function startCamera() {
  clearMessage('camera');
  clearMessage('photo');
  ui.cameraToggle.disabled = true;
  try {
    const deviceId = await camera.start(ui.cameraSelect.value || undefined);
    showSource('video');
    tracker.reset();
    timings.length = 0;
    ui.cameraToggle.textContent = 'Stop camera';
    await refreshCameraList(deviceId);
    startLoop();
  } catch (error) {
    console.warn(error);
    showMessage('camera', cameraErrorMessage(error));
  } finally {
    ui.cameraToggle.disabled = false;
  }
}

function stopCamera() {
  loop += 1;
  camera.stop();
  ui.cameraToggle.textContent = 'Start camera';
  clearOverlay(ui.overlay);
  state.faces = [];
  showSource(null);
}

async function refreshCameraList(selected = ui.cameraSelect.value) {
  const cameras = await Camera.list();
  ui.cameraSelect.replaceChildren(new Option('default camera', ''),
    ...cameras.filter((c) => c.deviceId).map((c) => new Option(c.label, c.deviceId)));
  ui.cameraSelect.value = cameras.some((c) => c.deviceId === selected) ? selected : '';
  ui.cameraSelect.disabled = cameras.length === 0;
}

function showSource(kind) {
  ui.video.hidden = kind !== 'video';
  ui.video.classList.toggle('mirrored', kind === 'video');
  ui.photo.hidden = kind !== 'photo';
  ui.placeholder.hidden = kind !== null;
}

// --- photos ---------------------------------------------------------------------------------------

async function analysePhoto(file) {
  if (!file) return;
  if (camera.active) stopCamera();
  clearMessage('photo');
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    showMessage('photo', `${file.name} is not an image this browser can open; choose a JPEG, PNG or WebP photo.`);
    return;
  }
  const scale = Math.min(1, MAX_PHOTO_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale);
  const height = Math.round(bitmap.height * scale);
  Object.assign(ui.photo, { width, height });
  ui.photo.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  showSource('photo');
  await analyseShownPhoto();
  if (state.faces.length === 0) showMessage('photo', 'No face was found in this photo. Try one where a face looks at the camera.', 'info');
}

// --- start --------------------------------------------------------------------------------------

function wireControls() {
  ui.cameraToggle.addEventListener('click', () => (camera.active ? stopCamera() : startCamera()));
  ui.cameraSelect.addEventListener('change', () => { if (camera.active) startCamera(); });
  ui.photoInput.addEventListener('change', () => analysePhoto(ui.photoInput.files[0]));
  ui.backendSelect.addEventListener('change', () => useBackend(ui.backendSelect.value));
  ui.modelSelect.addEventListener('change', async () => {
    modelUrl = ui.modelSelect.value;
    loop += 1;
    await loadModels();
    resume();
  });
  ui.stage.addEventListener('dragover', (event) => { event.preventDefault(); ui.stage.classList.add('dragging'); });
  ui.stage.addEventListener('dragleave', () => ui.stage.classList.remove('dragging'));
  ui.stage.addEventListener('drop', (event) => {
    event.preventDefault();
    ui.stage.classList.remove('dragging');
    analysePhoto(event.dataTransfer.files[0]);
  });
  document.addEventListener('visibilitychange', () => { if (!document.hidden && camera.active) startLoop(); });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => refreshCameraList());
}

async function main() {
  if (!tf) {
    showMessage('backend', 'TensorFlow.js did not load, so nothing can be analysed. The server may lack its npm packages (run npm ci there).');
    return;
  }
  wireControls();
  const requested = new URLSearchParams(location.search).get('backend') ?? 'auto';
  ui.backendSelect.value = BACKENDS.includes(requested) ? requested : 'auto';
  modelUrl = await listModels();
  await useBackend(ui.backendSelect.value);
  ui.cameraToggle.disabled = false;
  refreshCameraList();
}

main();
