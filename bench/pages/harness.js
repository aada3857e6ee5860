// The benchmark harness: runs inside bench/pages/*.html in Chromium, driven by python -m bench.
// Mien runs through the page's own modules; each peer through its own npm package, with that
// library's own preprocessing. Everything returns plain numbers; Python computes the tables.

import { Analyser } from '/static/js/analyser.js';
import { largest } from '/static/js/boxes.js';
import { ExpressionModel } from '/static/js/classifier.js';
import { FaceDetector, FaceFinder, loadFinder } from '/static/js/detector.js';
import { readPixels } from '/static/js/pixels.js';

const WASM_FILES = '/vendor/tfjs-backend-wasm/';
const HUMAN_EMOTION_URL = '/peers/human-emotion/emotion.json';
const FACE_API_MODELS = '/peers/face-api-models/';
const FACE_SIDE = 48;

async function useBackend(tf, name) {
  (tf.wasm?.setWasmPaths ?? tf.setWasmPaths)?.(WASM_FILES);
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
  await tf.ready();
  return tf.getBackend();
}

/** The fake webcam (Chromium plays the benchmark's clip) in a playing <video>, as on the page. */
async function openCamera() {
  const video = Object.assign(document.createElement('video'), { muted: true, playsInline: true });
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  await video.play();
  while (video.readyState < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  return video;
}

/** Faces of the benchmark set: uint8 [count, 48, 48] from /bench/data/faces.bin. */
async function loadFaces() {
  const bytes = new Uint8Array(await (await fetch('/bench/data/faces.bin')).arrayBuffer());
  return { bytes, count: bytes.length / (FACE_SIDE * FACE_SIDE) };
}

const faceAt = (faces, index) => faces.bytes.subarray(index * FACE_SIDE * FACE_SIDE, (index + 1) * FACE_SIDE * FACE_SIDE);

/** Milliseconds of each call of `step` after `warmup` calls, until `frames` or `budgetMs` is reached. */
async function time(step, { frames = 50, warmup = 5, budgetMs = 30000 } = {}) {
  for (let i = 0; i < warmup; i += 1) await step(i);
  const times = [];
  const started = performance.now();
  while (times.length < frames && (times.length < 5 || performance.now() - started < budgetMs)) {
    const before = performance.now();
    await step(times.length);
    times.push(performance.now() - before);
  }
  return times;
}

// --- Mien ---------------------------------------------------------------------------------------

/** The page's face detector, or the one `spec` describes (an entry like face-finder.json's detector). */
async function loadDetector(spec) {
  const finder = await loadFinder();
  return FaceDetector.load(tf, finder, spec ?? finder.detector);
}

/** Mien's analyser (the component's own, as its worker runs it) with the model at `modelUrl`. */
async function loadMien(modelUrl) {
  const analyser = new Analyser(await loadDetector());
  analyser.useModel(await ExpressionModel.load(tf, modelUrl));
  return analyser;
}

const pictureCopy = document.createElement('canvas').getContext('2d', { willReadFrequently: true });

/** Mien's scores for one 48x48 face, given to the network as it is (no detector, no crop). */
async function mienClassifyTight(model, faces, index) {
  const input = tf.tensor4d(faceAt(faces, index), [1, FACE_SIDE, FACE_SIDE, 1], 'float32');
  const output = model.model.execute(input, model.outputs[0]); // the class scores
  const scores = await output.data();
  tf.dispose([input, output]);
  return scores;
}

// --- Human's emotion model (mini-Xception), with Human's own preprocessing -------------------------

function humanEmotionInput(faces, index) {
  // As @vladmandic/human src/gear/emotion.ts: RGB 0..1, bilinear resize to the model's size,
  // grayscale with weights 0.2989/0.5870/0.1140, then (x - 0.5) * 2.
  return tf.tidy(() => {
    const rgb = tf.tensor4d(faceAt(faces, index), [1, FACE_SIDE, FACE_SIDE, 1], 'float32').div(255).tile([1, 1, 1, 3]);
    const resized = tf.image.resizeBilinear(rgb, [64, 64], false);
    const gray = resized.mul(tf.tensor1d([0.2989, 0.5870, 0.1140])).sum(3, true);
    return gray.sub(0.5).mul(2);
  });
}

async function humanClassify(model, faces, index) {
  const input = humanEmotionInput(faces, index);
  const output = model.execute(input);
  const scores = await output.data();
  tf.dispose([input, output]);
  return scores;
}

// --- face-api's FaceExpressionNet, with face-api's own preprocessing ------------------------------

async function faceApiClassify(faces, index) {
  const input = faceapi.tf.tidy(() => faceapi.tf.tensor3d(faceAt(faces, index), [FACE_SIDE, FACE_SIDE, 1], 'int32').tile([1, 1, 3]));
  const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(input);
  input.dispose();
  return expressions; // {neutral, happy, sad, angry, fearful, disgusted, surprised}
}

/**
 * face-api as its users run it live: a shown (painted) 640x480 video of the camera, the usual
 * loop of detectAllFaces(video).withFaceExpressions() on every animation frame, each result's
 * boxes drawn over the video. Resolves to the ms of each frame over `seconds` after `warmupS`,
 * and the main thread's long tasks (over 50 ms) meanwhile.
 */
async function faceApiLive(seconds, warmupS) {
  const video = await openCamera();
  const stage = Object.assign(document.createElement('div'), { style: 'position: relative; width: 640px; height: 480px' });
  const overlay = Object.assign(document.createElement('canvas'), { width: 640, height: 480, style: 'position: absolute; inset: 0' });
  video.style.cssText = 'position: absolute; inset: 0; width: 100%; height: 100%; transform: scaleX(-1)';
  stage.append(video, overlay);
  document.body.append(stage);
  const detectorOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
  const record = { times: [], longTasks: 0, faces: 0, recording: false };
  new PerformanceObserver((list) => { if (record.recording) record.longTasks += list.getEntries().length; }).observe({ type: 'longtask' });
  let running = true;
  const loop = async () => {
    const before = performance.now();
    const found = await faceapi.detectAllFaces(video, detectorOptions).withFaceExpressions();
    if (record.recording) record.times.push(performance.now() - before);
    record.faces = found.length;
    faceapi.draw.drawDetections(overlay, faceapi.resizeResults(found, { width: 640, height: 480 }));
    if (running) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  await new Promise((resolve) => setTimeout(resolve, warmupS * 1000));
  record.recording = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  record.recording = false;
  running = false;
  return { ...record, seconds: (performance.now() - started) / 1000 };
}

// --- composed frames: faces of known size and place on face-free photos ----------------------------

const loadImage = (url) => new Promise((resolve, reject) => {
  const image = new Image();
  image.onload = () => resolve(image);
  image.onerror = () => reject(new Error(`${url} did not load`));
  image.src = url;
});

/**
 * Draw each frame of `frames` ({background, heads: [[x, y, width, height]]}, as the benchmark's
 * frames.json says) into a canvas and call `find(canvas)` on it; resolves to what each call gave.
 */
async function onComposedFrames(frames, find) {
  const head = await loadImage('/bench/data/head.png');
  const backgrounds = {};
  const canvas = Object.assign(document.createElement('canvas'), { width: 640, height: 480 });
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const results = [];
  for (const frame of frames) {
    backgrounds[frame.background] ??= await loadImage(`/bench/data/${frame.background}`);
    context.drawImage(backgrounds[frame.background], 0, 0, 640, 480);
    for (const [x, y, width, height] of frame.heads) context.drawImage(head, x, y, width, height);
    results.push(await find(canvas));
  }
  return results;
}

// --- what python -m bench calls ------------------------------------------------------------

window.bench = {
  /**
   * Model only: milliseconds per 640x480 webcam frame, found and read as the component's worker
   * does it (the analyser, each frame one of the stream), for Mien on `backend`, in a tight loop
   * on a video that is never shown (so reading it costs little).
   */
  async mienSpeed(backend, modelUrl, options) {
    const used = await useBackend(tf, backend);
    const mien = await loadMien(modelUrl);
    const video = await openCamera();
    mien.watch();
    let faces = 0;
    const times = await time(async () => {
      faces = (await mien.analyse(video, { live: true })).faces.length;
    }, options);
    return { backend: used, times, faces, tensors: tf.memory().numTensors };
  },

  /** face-api live on a shown video, as a page using it runs (see faceApiLive). */
  async faceApiLive(backend, seconds, warmupS) {
    const used = await useBackend(faceapi.tf, backend);
    await faceapi.nets.tinyFaceDetector.loadFromUri(FACE_API_MODELS);
    await faceapi.nets.faceExpressionNet.loadFromUri(FACE_API_MODELS);
    return { backend: used, ...(await faceApiLive(seconds, warmupS)) };
  },

  /** The same for face-api: TinyFaceDetector (416) and FaceExpressionNet, its usual pipeline. */
  async faceApiSpeed(backend, options) {
    const used = await useBackend(faceapi.tf, backend);
    await faceapi.nets.tinyFaceDetector.loadFromUri(FACE_API_MODELS);
    await faceapi.nets.faceExpressionNet.loadFromUri(FACE_API_MODELS);
    const video = await openCamera();
    const detectorOptions = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
    let faces = 0;
    const times = await time(async () => {
      faces = (await faceapi.detectAllFaces(video, detectorOptions).withFaceExpressions()).length;
    }, options);
    return { backend: used, times, faces };
  },

  /** Boxes Mien's face detector (the page's code; `spec`: another detector) finds in each composed frame. */
  async mienFaces(backend, spec, frames) {
    await useBackend(tf, backend);
    const detector = await loadDetector(spec);
    return onComposedFrames(frames, async (canvas) => (await detector.detect(await readPixels(canvas, pictureCopy)))
      .map((face) => face.box));
  },

  /**
   * The live page's way (FaceFinder): each composed frame shown `repeats` times in a row, as a
   * still camera would; per frame, the boxes found each time.
   */
  async mienLiveFaces(backend, frames, repeats) {
    await useBackend(tf, backend);
    const finder = new FaceFinder(await loadDetector());
    return onComposedFrames(frames, async (canvas) => {
      const pixels = await readPixels(canvas, pictureCopy);
      finder.reset();
      const times = [];
      for (let i = 0; i < repeats; i += 1) times.push((await finder.find(pixels)).faces.map((face) => face.box));
      return times;
    });
  },

  /** The same for face-api's TinyFaceDetector at 416, its usual setting. */
  async faceApiFaces(backend, frames) {
    await useBackend(faceapi.tf, backend);
    await faceapi.nets.tinyFaceDetector.loadFromUri(FACE_API_MODELS);
    const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
    return onComposedFrames(frames, async (canvas) => (await faceapi.detectAllFaces(canvas, options))
      .map(({ box }) => [box.x, box.y, box.width, box.height]));
  },

  /** Class scores of Mien (the exported TF.js model) for every benchmark face, and ms per face. */
  async mienTight(backend, modelUrl) {
    await useBackend(tf, backend);
    const model = await ExpressionModel.load(tf, modelUrl);
    const faces = await loadFaces();
    const scores = [];
    for (let i = 0; i < faces.count; i += 1) scores.push(Array.from(await mienClassifyTight(model, faces, i)));
    const times = await time((i) => mienClassifyTight(model, faces, i % faces.count), { frames: 200 });
    return { classes: model.classes, scores, times };
  },

  async humanTight(backend) {
    await useBackend(tf, backend);
    const model = await tf.loadGraphModel(HUMAN_EMOTION_URL);
    const faces = await loadFaces();
    const scores = [];
    for (let i = 0; i < faces.count; i += 1) scores.push(Array.from(await humanClassify(model, faces, i)));
    const times = await time((i) => humanClassify(model, faces, i % faces.count), { frames: 200 });
    return { classes: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'], scores, times };
  },

  async faceApiTight(backend) {
    await useBackend(faceapi.tf, backend);
    await faceapi.nets.faceExpressionNet.loadFromUri(FACE_API_MODELS);
    const faces = await loadFaces();
    const scores = [];
    let classes = null;
    for (let i = 0; i < faces.count; i += 1) {
      const expressions = await faceApiClassify(faces, i);
      classes ??= Object.keys(expressions).filter((key) => typeof expressions[key] === 'number');
      scores.push(classes.map((name) => expressions[name]));
    }
    const times = await time((i) => faceApiClassify(faces, i % faces.count), { frames: 200 });
    return { classes, scores, times };
  },

  /**
   * Labelled photos (/bench/data/<file>) through Mien's component, as the page analyses a photo:
   * per photo, its faces as `analyse` gives them (boxes and class scores; with `features`, each
   * face's features and the shipped model's scores too, for bench personal).
   */
  async mienPhotos(backend, modelUrl, files, { features = false } = {}) {
    const { Mien } = await import('/mien.js');
    const mien = await Mien.create({ model: modelUrl, backend, features });
    const photos = [];
    for (const file of files) photos.push((await mien.analyse(await (await fetch(`/bench/data/${file}`)).blob())).faces);
    const used = mien.backend;
    mien.dispose();
    return { backend: used, photos };
  },

  /**
   * Profiles fitted and applied by the component's own code (personal.js) to the photos' faces
   * (mienPhotos with features): for each task ({examples: {class: [photo]}, held: [photo]}) and each strength,
   * the class each held photo's largest face is read as, and whether the profile's check passed
   * (a refused one reads with the shipped model). Also the median ms of a fit.
   */
  async mienProfiles(backend, modelUrl, faces, tasks, strengths) {
    await useBackend(tf, backend);
    const { fitProfile, personalScores } = await import('/static/js/personal.js');
    const metadata = await (await fetch(`${modelUrl}metadata.json`)).json();
    const subject = (index) => largest(faces.photos[index]);
    const example = (index) => ({ scores: metadata.classes.map((name) => subject(index).frameScores[name]), features: subject(index).features });
    const times = [];
    const fits = tasks.map(({ examples, held }) => strengths.map((strength) => {
      const started = performance.now();
      const profile = fitProfile(tf, metadata, Object.fromEntries(Object.entries(examples).map(([name, photos]) => [name, photos.map(example)])), { strength });
      times.push(performance.now() - started);
      return { passed: profile.verdict.passed, read: held.map((index) => {
        const { scores, features } = example(index);
        const read = Array.from(personalScores(profile, scores, features));
        return read.indexOf(Math.max(...read));
      }) };
    }));
    times.sort((a, b) => a - b);
    const answers = fits.map((row) => row.map(({ read }) => read));
    const used = fits.map((row) => row.map(({ passed }) => passed));
    return { answers, used, fit_ms: times[Math.floor(times.length / 2)], tensors: tf.memory().numTensors };
  },

  /** The same through face-api's own pipeline: TinyFaceDetector (416) and FaceExpressionNet. */
  async faceApiPhotos(backend, files) {
    const used = await useBackend(faceapi.tf, backend);
    await faceapi.nets.tinyFaceDetector.loadFromUri(FACE_API_MODELS);
    await faceapi.nets.faceExpressionNet.loadFromUri(FACE_API_MODELS);
    const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
    const photos = [];
    for (const file of files) {
      const found = await faceapi.detectAllFaces(await loadImage(`/bench/data/${file}`), options).withFaceExpressions();
      photos.push(found.map(({ detection: { box }, expressions }) => ({
        box: [box.x, box.y, box.width, box.height],
        scores: Object.fromEntries(Object.entries(expressions).filter(([, value]) => typeof value === 'number')),
      })));
    }
    return { backend: used, photos };
  },

  /**
   * Each face (all, or those at the indices `faces`) enlarged to `sizes[i]` pixels and placed at
   * `positions[i]` in a grey picture of `picture` pixels, then found and cropped and classified by
   * the component's analyser: as a frame of a still camera's stream (seen for `frames` frames,
   * unsmoothed), or with `photo` as a picture alone. Per face: the box found and its class scores.
   */
  async mienInFrames(backend, modelUrl, sizes, positions, { frames = 1, photo = false, picture = [640, 480], faces: picks } = {}) {
    await useBackend(tf, backend);
    const mien = await loadMien(modelUrl);
    const faces = await loadFaces();
    const results = [];
    const face = Object.assign(document.createElement('canvas'), { width: FACE_SIDE, height: FACE_SIDE });
    const [width, height] = picture;
    const frame = Object.assign(document.createElement('canvas'), { width, height });
    const frameContext = frame.getContext('2d');
    for (const [i, index] of (picks ?? Array.from({ length: faces.count }, (_, k) => k)).entries()) {
      const gray = faceAt(faces, index);
      const rgba = new Uint8ClampedArray(FACE_SIDE * FACE_SIDE * 4).map((_, k) => (k % 4 === 3 ? 255 : gray[k >> 2]));
      face.getContext('2d').putImageData(new ImageData(rgba, FACE_SIDE, FACE_SIDE), 0, 0);
      frameContext.fillStyle = 'rgb(110, 110, 110)';
      frameContext.fillRect(0, 0, width, height);
      frameContext.drawImage(face, positions[i][0], positions[i][1], sizes[i], sizes[i]);
      let found = [];
      if (photo) {
        found = (await mien.analyse(frame)).faces;
      } else { // as the live page: a still camera's frames
        mien.watch({ smoothing: false });
        for (let seen = 0; seen < frames; seen += 1) found = (await mien.analyse(frame, { live: true })).faces;
      }
      results.push(found.map(({ box, scores }) => ({ box, scores: mien.model.classes.map((name) => scores[name]) })));
    }
    return { classes: mien.model.classes, results, tensors: tf.memory().numTensors };
  },
};
