// The analysis worker: finds and classifies the faces of every picture away from the page's main
// thread, so that the video, the overlay and the controls never wait for the networks.
//
// Camera frames arrive straight from the camera track (a ReadableStream of VideoFrames, from
// MediaStreamTrackProcessor) or, in browsers without that, as ImageBitmaps the page posts one at a
// time; photos arrive as ImageBitmaps. Requests carry an `id` and are answered with a message of
// the same id; camera results are posted as {type: 'result'} messages.

import '/vendor/tfjs/tf.es2017.min.js';
import '/vendor/tfjs-backend-wasm/tf-backend-wasm.es2017.min.js';
import { chooseBackend, describeBackend, watchContextLoss } from './backend.js';
import { ExpressionModel } from './classifier.js';
import { FaceDetector, FaceFinder, detectEverywhere } from './detector.js';
import { readPixels } from './pixels.js';
import { FaceTracker } from './tracker.js';

const { tf } = globalThis;
const DETECTOR_URL = '/vendor/face-detector/facemesh-detection-short.json';
const TIMING_WINDOW = 30; // frames over which fps and ms per frame are measured

let detector = null;
let finder = null; // follows the camera's faces from frame to frame
let expressionModel = null;
let modelUrl = null;
let modelRequests = 0; // the newest model request wins; older ones still waiting are dropped
let camera = null; // {reader, session} while camera frames stream in
let paused = false;
let renderer = null; // the page's WebGL renderer, or null where the page has no WebGL
const tracker = new FaceTracker();
const timings = [];
const pictureCopy = new OffscreenCanvas(1, 1).getContext('2d', { willReadFrequently: true });

// Frames, model loads and backend switches take turns: none starts while another runs.
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

// --- models and backends ------------------------------------------------------------------------

/** Load the face detector; resolves to a sentence saying what went wrong, or null. */
async function loadDetectors() {
  detector?.dispose();
  detector = null;
  finder = null;
  try {
    detector = await FaceDetector.load(tf, DETECTOR_URL);
    finder = new FaceFinder(detector);
    return null;
  } catch (error) {
    console.error(error);
    return 'The face detector could not be loaded, so no face can be found. The server may lack its npm packages (run npm ci there).';
  }
}

/**
 * Load the expression model in the folder at `url` (none when null), replacing the one in use.
 * Resolves to {classes, problem}: its class names (null without a model) and a sentence or null.
 */
async function loadExpressionModel(url) {
  expressionModel?.dispose();
  expressionModel = null;
  modelUrl = url;
  tracker.reset(); // smoothed scores of another model mean nothing to this one
  timings.length = 0;
  if (!url) return { classes: null, problem: null };
  try {
    expressionModel = await ExpressionModel.load(tf, url);
    return { classes: expressionModel.classes, problem: null };
  } catch (error) {
    console.error(error);
    return { classes: null, problem: `The expression model at ${url} could not be loaded (${error.message}). Faces are still found; export the model again on the server.` };
  }
}

/**
 * Switch TF.js to `requested` and load the models on it (the expression model at `url`, by
 * default the one in use); resolves to what the page shows.
 */
async function useBackend(requested, url = modelUrl) {
  const { name, note } = await chooseBackend(tf, requested, renderer);
  watchContextLoss(tf, () => exclusive(async () => {
    const switched = await useBackend('wasm');
    self.postMessage({
      type: 'backend', ...switched,
      note: 'The GPU stopped answering (its WebGL context was lost), so Mien switched to WebAssembly.',
    });
  }));
  const detectorProblem = await loadDetectors(); // models live on their backend: load them again
  const model = await loadExpressionModel(url);
  return { name, note, description: await describeBackend(tf, renderer), classes: model.classes, problem: detectorProblem ?? model.problem };
}

// --- analysis -----------------------------------------------------------------------------------

function describeFace({ box, scores }) {
  const face = { box: box.map(Math.round), label: null, scores: {} };
  if (scores && expressionModel) {
    expressionModel.classes.forEach((name, index) => { face.scores[name] = scores[index]; });
    face.label = expressionModel.classes[scores.indexOf(Math.max(...scores))];
  }
  return face;
}

/**
 * Find and classify the faces of one picture (a VideoFrame or ImageBitmap): a camera frame
 * (`live`) as one of a stream, its faces followed and smoothed from frame to frame; a photo alone,
 * searched all over for small faces.
 */
async function analyse(picture, { live }) {
  if (!detector) throw new Error('The face detector is not loaded.');
  const started = performance.now();
  const pixels = await readPixels(picture, pictureCopy); // read once, used by both networks
  const boxes = live ? await finder.find(pixels) : await detectEverywhere(pixels, detector);
  const scores = expressionModel ? await expressionModel.classify(pixels, boxes) : boxes.map(() => null);
  const found = boxes.map((face, index) => ({ box: face.box, scores: scores[index] && Array.from(scores[index]) }));
  const faces = (live ? tracker.update(found) : found).map(describeFace);
  return { faces, width: pixels.width, height: pixels.height, ms: performance.now() - started };
}

/** One camera frame analysed: the result with the camera's running speed figures. */
async function analyseCameraFrame(picture, session) {
  const result = await analyse(picture, { live: true });
  timings.push({ at: performance.now(), ms: result.ms });
  if (timings.length > TIMING_WINDOW) timings.shift();
  const sorted = timings.map((timing) => timing.ms).sort((a, b) => a - b);
  const span = timings.at(-1).at - timings[0].at;
  return {
    type: 'result', source: 'camera', session, ...result,
    msPerFrame: sorted[Math.floor(sorted.length / 2)],
    fps: span > 0 ? (1000 * (timings.length - 1)) / span : 0,
  };
}

/** Analyse the camera's frames as they come, until the stream ends or the page says stop. */
async function readCamera(readable, session) {
  const reader = readable.getReader();
  camera = { reader, session };
  tracker.reset();
  finder?.reset();
  timings.length = 0;
  try {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) break;
      if (paused) {
        frame.close(); // the tab is hidden: drop frames unread
        continue;
      }
      await exclusive(async () => {
        try {
          if (camera?.reader === reader) self.postMessage(await analyseCameraFrame(frame, session));
        } catch (error) {
          self.postMessage({ type: 'error', topic: 'analysis', message: error.message });
        } finally {
          frame.close();
        }
      });
    }
  } finally {
    if (camera?.reader === reader) camera = null;
  }
}

// --- requests from the page -----------------------------------------------------------------------

const handlers = {
  backend: (request) => exclusive(() => {
    renderer = request.renderer;
    return useBackend(request.requested, request.url);
  }),
  model: ({ url }) => {
    const request = ++modelRequests;
    return exclusive(() => (request === modelRequests ? loadExpressionModel(url) : { superseded: true }));
  },
  camera: ({ readable, session }) => {
    readCamera(readable, session);
    return {};
  },
  frame: ({ bitmap, session }) => exclusive(async () => {
    try {
      return await analyseCameraFrame(bitmap, session);
    } finally {
      bitmap.close();
    }
  }),
  photo: ({ bitmap }) => exclusive(async () => {
    try {
      return { type: 'result', source: 'photo', ...(await analyse(bitmap, { live: false })) };
    } finally {
      bitmap.close();
    }
  }),
  stop: () => {
    camera?.reader.cancel();
    camera = null;
    tracker.reset();
    finder?.reset();
    return {};
  },
  pause: ({ hidden }) => {
    paused = hidden;
    return {};
  },
};

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    self.postMessage({ id, ok: true, ...(await handlers[type](data)) });
  } catch (error) {
    console.error(error);
    self.postMessage({ id, ok: false, message: error.message });
  }
};
