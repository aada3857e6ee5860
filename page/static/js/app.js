// Mien's page: webcam or photo in, a box, a label and a bar per class for every face out.
// Everything runs in this tab with TensorFlow.js; no picture leaves the device.
//
// The page is the first user of the component any page can use (/mien.js): it uses its API and
// nothing else of it. The networks run in the component's worker; this thread shows the video,
// draws the newest result over it when the display next refreshes, and keeps the controls
// responsive.
//
// The live state is exposed for tests, benchmarks and embedding pages as window.mien.state:
// {backend, ready, fps, msPerFrame, frames, frameSource, faces: [{box: [x, y, w, h], label, scores: {name: p}}]}
// with boxes in the picture's own pixels (not mirrored); frames counts the pictures analysed.
// window.mien.events dispatches a 'result' event per analysed picture, its detail
// {source: 'camera' | 'photo', faces, width, height, ms} (ms: the worker's time for it);
// window.mien.record is the mood record kept in this browser (record.js).

import { BACKENDS, MAX_PICTURE_SIDE, Mien } from '/mien.js';
import { Camera, cameraErrorMessage } from './camera.js';
import { clearOverlay, drawFaces } from '/static/js/overlay.js';
import { keepOffline } from './offline.js';
import { MoodRecord } from './record.js';
import { RecordSection } from './record-view.js';
import { TeachSection } from './teach.js';

const $ = (id) => document.getElementById(id);
const ui = {
  stage: $('stage'), video: $('video'), photo: $('photo'), overlay: $('overlay'), placeholder: $('placeholder'),
  messages: $('messages'), cameraToggle: $('camera-toggle'), cameraSelect: $('camera-select'),
  photoInput: $('photo-input'), modelSelect: $('model-select'), backendSelect: $('backend-select'),
  backendName: $('backend-name'), speed: $('speed'), faces: $('faces'),
};

const state = { backend: null, ready: false, fps: 0, msPerFrame: 0, frames: 0, frameSource: null, faces: [], profile: null };
window.mien = { state, events: new EventTarget() };

let mien = null; // the component (mien.js), once it has started
let classes = null; // the class names of the expression model in use
let shown = null; // the newest result, drawn at the next display refresh
let drawPending = false;
const camera = new Camera(ui.video, {
  onEnded: () => {
    stopCamera();
    showMessage('camera', 'The camera was disconnected. Plug it back in and press Start camera, or choose a photo.');
    refreshCameraList();
  },
});
const recordSection = new RecordSection(new MoodRecord(), { live: () => camera.active && !document.hidden, classes: () => classes });
window.mien.record = recordSection.record; // the stored mood record (record.js)
const teachSection = new TeachSection({
  mien: () => mien, live: () => camera.active, say: (text, kind) => (text ? showMessage('profile', text, kind) : clearMessage('profile')),
  onChange: () => { state.profile = mien.profile?.name ?? null; recordSection.restart(); },
});

// --- messages: one per topic (backend, model, default-model, camera, photo, analysis), so none hides another

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

/** Mien's errors name their topic (backend, model, camera, analysis): shown in that topic's line. */
function showError(error) {
  showMessage(error.topic ?? 'analysis', error.message);
}

// --- models and backends ------------------------------------------------------------------------

async function useBackend(requested) {
  state.ready = false;
  try {
    await mien.setBackend(requested);
  } catch (error) {
    showError(error);
  }
  showBackend();
  showModel();
  resume();
}

function showBackend(note = mien.backendNote) {
  state.backend = mien.backend;
  ui.backendName.textContent = mien.backendDescription;
  if (ui.backendSelect.value !== 'auto') ui.backendSelect.value = mien.backend;
  if (note) showMessage('backend', note, 'info');
  else clearMessage('backend');
}

async function showModel() {
  if (mien.classes) clearMessage('model');
  state.ready = Boolean(mien.classes);
  classes = mien.classes;
  recordSection.restart();
  const hadProfile = state.profile;
  state.profile = mien.profile?.name ?? null;
  const others = await teachSection.refresh();
  if (hadProfile && !state.profile) {
    showMessage('profile', `Your profile "${hadProfile}" was made for another model: it is kept, and not used with this one.`, 'info');
  } else if (others && !state.profile) {
    showMessage('profile', `${others} kept profile(s) belong to another model and are not offered with this one.`, 'info');
  } else {
    clearMessage('profile');
  }
}

async function useModel(url) {
  state.ready = false;
  try {
    await mien.setModel(url);
  } catch (error) {
    if (ui.modelSelect.value === url) showError(error);
  }
  if (ui.modelSelect.value !== url) return; // a later choice is being loaded
  showModel();
  resume();
}

/** After a model or backend change, analyse the shown photo again (the camera carries on by itself). */
function resume() {
  if (!camera.active && !ui.photo.hidden) analyseShownPhoto();
}

/** The models the server offers, in the model list; resolves to the URL of the one to use. */
async function listModels() {
  try {
    const listed = await (await fetch('/models.json')).json();
    const models = listed.filter((model) => !model.problem);
    listed.filter((model) => model.problem).forEach((model) => showMessage(`left-out-${model.id}`, `The model ${model.id} is left out: ${model.problem}`));
    ui.modelSelect.replaceChildren(...models.map((model) => new Option(
      `${model.classes.join(', ')}${model.validation_accuracy ? ` (${Math.round(model.validation_accuracy * 100)}% on validation)` : ''}`,
      model.url,
    )));
    ui.modelSelect.disabled = models.length < 2;
    if (models[0]?.default) return models[0].url;
    const { problem } = (await (await fetch('/healthz')).json()).model;
    if (models.length > 0) {
      showMessage('default-model', `The default expression model is not available (${problem.replace(/\.$/, '')}), so Mien uses the ${models[0].classes.length}-class model (${models[0].classes.join(', ')}) instead.`);
      return models[0].url;
    }
    showMessage('model', `No expression model is installed on this server: ${problem} Faces are still found.`);
  } catch (error) {
    showMessage('model', `The server could not list its models (${error.message}); reload the page once it runs again.`);
  }
  return null;
}

// --- results ------------------------------------------------------------------------------------

function showResult(result) {
  if (result.source === 'camera' && !camera.active) return;
  state.frames += 1;
  state.faces = result.faces;
  if (result.source === 'camera') {
    recordSection.take(result.faces);
    Object.assign(state, { fps: result.fps, msPerFrame: result.msPerFrame });
    ui.speed.textContent = `${result.fps.toFixed(1)} fps · ${result.msPerFrame.toFixed(0)} ms per frame`;
  } else {
    ui.speed.textContent = `photo analysed in ${result.ms.toFixed(0)} ms`;
  }
  shown = result;
  window.mien.events.dispatchEvent(new CustomEvent('result', { detail: result }));
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(draw);
  }
}

function draw() {
  drawPending = false;
  if (!shown) return;
  const { faces, width, height, source } = shown;
  drawFaces(ui.overlay, faces, { width, height, mirrored: source === 'camera' });
  renderFaceList(faces);
}

function renderFaceList(faces, empty = camera.active ? 'No face in view.' : 'No face found in this photo.') {
  if (faces.length === 0) {
    delete ui.faces.dataset.layout;
    ui.faces.replaceChildren(Object.assign(document.createElement('li'), { className: 'empty', textContent: empty }));
    return;
  }
  // The list is rebuilt only when faces or classes change; otherwise its values are updated.
  const layout = `${faces.length}:${Object.keys(faces[0].scores).join()}`;
  if (ui.faces.dataset.layout !== layout) {
    ui.faces.dataset.layout = layout;
    ui.faces.replaceChildren(...faces.map((face, index) => {
      const item = document.createElement('li');
      const title = document.createElement('div');
      title.append(`Face ${index + 1}: `, Object.assign(document.createElement('span'), { className: 'label' }));
      item.append(title, Object.assign(document.createElement('div'), { className: 'shipped' }));
      for (const name of Object.keys(face.scores)) {
        const bar = document.createElement('div');
        bar.className = 'bar';
        bar.append(name, Object.assign(document.createElement('meter'), { min: 0, max: 1 }),
          Object.assign(document.createElement('span'), { className: 'value' }));
        item.append(bar);
      }
      return item;
    }));
  }
  faces.forEach((face, index) => {
    const item = ui.faces.children[index];
    item.querySelector('.label').textContent = face.label ?? 'no expression model';
    // Read with a profile: what the shipped model alone reads, beside it.
    const shipped = face.profile && face.frameScores ? Object.entries(face.frameScores).reduce((a, b) => (b[1] > a[1] ? b : a)) : null;
    item.querySelector('.shipped').textContent = shipped ? `with your profile; the shipped model alone: ${shipped[0]} ${Math.round(100 * shipped[1])}%` : '';
    Object.values(face.scores).forEach((probability, row) => {
      const bar = item.querySelectorAll('.bar')[row];
      bar.querySelector('meter').value = probability;
      bar.querySelector('.value').textContent = `${Math.round(probability * 100)}%`;
    });
  });
}

function clearResults() {
  shown = null;
  state.faces = [];
  clearOverlay(ui.overlay);
  renderFaceList([], 'No face in view.');
}

// --- the camera ------------------------------------------------------------------------------------

async function startCamera() {
  clearMessage('camera');
  clearMessage('photo');
  ui.cameraToggle.disabled = true;
  try {
    if (camera.active) stopCamera();
    const track = await camera.start(ui.cameraSelect.value || undefined);
    showSource('video');
    clearResults();
    await mien.watch(ui.video);
    state.frameSource = mien.frameSource;
    ui.cameraToggle.textContent = 'Stop camera';
    await refreshCameraList(track.getSettings().deviceId);
  } catch (error) {
    console.warn(error);
    showMessage('camera', cameraErrorMessage(error));
  } finally {
    ui.cameraToggle.disabled = false;
  }
}

function stopCamera() {
  mien.stop();
  camera.stop();
  ui.cameraToggle.textContent = 'Start camera';
  clearResults();
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

// Pixels a photo may have, read from its header before it is decoded: 50 megapixels, as
// pipeline/images.py reads photos (a 1 MB PNG may hold 900 megapixels, 3.6 GB decoded).
const MAX_PHOTO_PIXELS = 50e6;

/** A photo's [width, height] from its header (an <img> decodes no pixels until it is drawn); null if it is no image. */
async function photoSize(file) {
  const image = new Image();
  image.src = URL.createObjectURL(file);
  try {
    await new Promise((resolve, reject) => Object.assign(image, { onload: resolve, onerror: reject }));
    return [image.naturalWidth, image.naturalHeight];
  } catch {
    return null;
  } finally {
    URL.revokeObjectURL(image.src);
  }
}

async function analysePhoto(file) {
  if (!file) return;
  if (camera.active) stopCamera();
  clearMessage('photo');
  const refuse = (text) => {
    clearResults(); // the previous photo's faces are not this file's
    showSource(null);
    showMessage('photo', text);
  };
  const size = await photoSize(file);
  if (size && size[0] * size[1] > MAX_PHOTO_PIXELS) {
    refuse(`${file.name} is ${size[0]}x${size[1]} pixels, more than the ${MAX_PHOTO_PIXELS / 1e6} megapixels Mien reads; choose a smaller photo, or shrink this one.`);
    return;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    refuse(`${file.name} is not an image this browser can open; choose a JPEG, PNG or WebP photo.`);
    return;
  }
  const scale = Math.min(1, MAX_PICTURE_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.round(bitmap.width * scale);
  const height = Math.round(bitmap.height * scale);
  Object.assign(ui.photo, { width, height });
  ui.photo.getContext('2d').drawImage(bitmap, 0, 0, width, height);
  clearResults();
  showSource('photo');
  // The decoded photo, where it is shown at full size, is read faster by the worker than the shown
  // canvas (which may live on the GPU); analyse takes it over.
  if (scale === 1) await analyseShownPhoto(bitmap);
  else {
    bitmap.close();
    await analyseShownPhoto();
  }
  if (state.faces.length === 0) showMessage('photo', 'No face was found in this photo. Try one where a face looks at the camera.', 'info');
}

/** Analyse the shown photo (or `picture`, the same at full size): as it is, not mirrored, without smoothing from earlier frames. */
async function analyseShownPhoto(picture = ui.photo) {
  try {
    showResult({ source: 'photo', ...(await mien.analyse(picture)) });
  } catch (error) {
    showMessage('photo', `The photo could not be analysed (${error.message}); try another backend.`);
  }
}

// --- start --------------------------------------------------------------------------------------

function wireControls() {
  ui.cameraToggle.addEventListener('click', () => (camera.active ? stopCamera() : startCamera()));
  ui.cameraSelect.addEventListener('change', () => { if (camera.active) startCamera(); });
  ui.photoInput.addEventListener('change', () => {
    const [file] = ui.photoInput.files;
    ui.photoInput.value = ''; // the same photo can be chosen again
    if (file) analysePhoto(file);
  });
  ui.backendSelect.addEventListener('change', () => useBackend(ui.backendSelect.value));
  ui.modelSelect.addEventListener('change', () => useModel(ui.modelSelect.value));
  ui.stage.addEventListener('dragover', (event) => { event.preventDefault(); ui.stage.classList.add('dragging'); });
  ui.stage.addEventListener('dragleave', () => ui.stage.classList.remove('dragging'));
  ui.stage.addEventListener('drop', (event) => {
    event.preventDefault();
    ui.stage.classList.remove('dragging');
    analysePhoto(event.dataTransfer.files[0]);
  });
  navigator.mediaDevices?.addEventListener?.('devicechange', () => refreshCameraList());
}

async function main() {
  const address = new URLSearchParams(location.search);
  const requested = address.get('backend') ?? 'auto';
  ui.backendSelect.value = BACKENDS.includes(requested) ? requested : 'auto';
  const modelUrl = await listModels();
  if (modelUrl) ui.modelSelect.value = modelUrl;
  try {
    // ?frames=bitmap: frames as bitmaps of the shown video, as in browsers without frames from the track
    mien = await Mien.create({ model: null, backend: ui.backendSelect.value, frames: address.get('frames') ?? 'auto', features: true });
  } catch (error) {
    showMessage('backend', error.message);
    return;
  }
  mien.addEventListener('result', ({ detail }) => showResult(detail));
  mien.addEventListener('backend', () => showBackend(null));
  mien.addEventListener('error', ({ detail }) => showMessage(detail.topic, detail.message));
  mien.addEventListener('ended', ({ detail }) => showMessage('camera', detail.message));
  showBackend();
  if (modelUrl) await useModel(modelUrl);
  wireControls();
  ui.cameraToggle.disabled = false;
  refreshCameraList();
}

main();
keepOffline((text) => showMessage('update', text, 'info')); // the offline copy, and news of a new version
