// The analysis worker: finds and classifies the faces of every picture away from the embedding
// page's main thread, so that its video, drawing and controls never wait for the networks.
// mien.js starts it and is its only correspondent.
//
// Watched frames arrive in one of three ways, whichever the browser allows: a ReadableStream of
// VideoFrames (MediaStreamTrackProcessor on the page), the video track itself (read here with the
// worker's own MediaStreamTrackProcessor), or frames posted by the page as each is shown, of which
// only the newest waits while one is analysed. Each way, every result is posted as a
// {type: 'result'} message. Pictures to analyse arrive as ImageBitmaps. Requests carry an `id` and
// are answered with a message of the same id. Every file is found through assets.js.
//
// The analysis itself is the Analyser's (analyser.js: detector, face finder, model, tracker and
// the profile in use); this worker turns messages into its calls, and loads what it needs.

import { Analyser } from './analyser.js';
import { DEFAULT_MODEL, policySentence } from './assets.js';
import { chooseBackend, describeBackend, loadTfjs, watchContextLoss } from './backend.js';
import { ExpressionModel } from './classifier.js';
import { FaceDetector, loadFinder } from './detector.js';
import { finiteNumbers, fitProfile, profileProblem } from './personal.js';

let tf = null; // TF.js, loaded with the first backend request
const TIMING_WINDOW = 30; // frames over which fps and ms per frame are measured

let analyser = null; // the detector's, once it is loaded, with the expression model and profile in use
let expressionModel = null;
let modelUrl = null;
let modelRequested; // as mien.js asked for it: undefined for the component's own model, null for none, or a folder URL
let modelRequests = 0; // the newest model request wins; older ones still waiting are dropped
let watching = null; // {session, source, reader?, waiting?, busy?} while frames come in
let paused = false;
let renderer = null; // the page's WebGL renderer, or null where the page has no WebGL
let wantFeatures = false; // whether faces carry their features (Mien.create's features option)
const timings = [];

// What this worker's Content-Security-Policy refused (the page's own, or its server's for this
// script), so that a file that does not load is explained by the directive that blocked it.
let refused = null;
self.addEventListener('securitypolicyviolation', (event) => {
  refused = { directive: event.effectiveDirective, blocked: event.blockedURI };
});

/** The sentence for a load that failed because of a Content-Security-Policy, or null (asked right after the failure). */
async function policyProblem() {
  await new Promise((resolve) => setTimeout(resolve, 50)); // the violation is reported just after the failed load
  return refused && policySentence(refused, self.location.origin);
}

// Frames, model loads and backend switches take turns: none starts while another runs.
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

// --- models and backends ------------------------------------------------------------------------

/** Load the face detector; resolves to a sentence saying what went wrong, or null. */
async function loadDetector() {
  const profile = analyser?.profile ?? null; // kept across a backend switch
  analyser?.detector.dispose();
  analyser = null;
  refused = null;
  try {
    analyser = new Analyser(await FaceDetector.load(tf, await loadFinder()), { features: wantFeatures });
    analyser.useModel(expressionModel);
    analyser.useProfile(profile);
    return null;
  } catch (error) {
    console.error(error);
    return (await policyProblem()) ?? 'The face detector could not be loaded, so no face can be found. The server may lack its npm packages (run python -m web.vendor there).';
  }
}

/**
 * Load the expression model in the folder at `url` (none when null), replacing the one in use.
 * Resolves to {url, classes, problem}: its class names (null without a model) and a sentence or null.
 */
async function loadExpressionModel(requested) {
  const url = requested === undefined ? new URL('./', DEFAULT_MODEL.graph).href : requested; // the component's own model
  modelRequested = requested;
  expressionModel?.dispose();
  expressionModel = null;
  const sameModel = url === modelUrl; // a profile belongs to one model (kept when the same one loads again)
  modelUrl = null;
  analyser?.useModel(null, { keepProfile: sameModel });
  timings.length = 0;
  if (!url) return { url, classes: null, problem: null };
  try {
    refused = null;
    expressionModel = await ExpressionModel.load(tf, requested === undefined ? DEFAULT_MODEL : url);
    modelUrl = url;
    analyser?.useModel(expressionModel, { keepProfile: sameModel });
    return { url, classes: expressionModel.classes, sha256: expressionModel.metadata.weights_sha256, problem: null };
  } catch (error) {
    console.error(error);
    analyser?.useProfile(null);
    return { url, classes: null, problem: (await policyProblem()) ?? `The expression model at ${url} could not be used (${error.message.replace(/\.$/, '')}); export the model again on the server.` };
  }
}

/**
 * Switch TF.js to `requested` and load the models on it (the expression model as `url` names it:
 * undefined for the component's own); resolves to what the page shows. TF.js itself is loaded
 * with the first call; `threads: false` keeps WebAssembly on one thread.
 */
async function useBackend(requested, url, threads = true) {
  tf ??= await loadTfjs().catch(async (error) => {
    throw Object.assign(new Error((await policyProblem()) ?? `TensorFlow.js could not be loaded (${error.message}); check that the component's vendor/ files are served.`), { topic: refused ? 'csp' : 'backend' });
  });
  const onPool = (started) => self.postMessage({ type: 'pool', started }); // the page's watchdog
  const { name, note } = await chooseBackend(tf, requested, renderer, { workload: timeDetector, threads, onPool });
  watchContextLoss(tf, () => exclusive(async () => {
    const switched = await useBackend('wasm', modelRequested);
    self.postMessage({
      type: 'backend', ...switched,
      note: 'The GPU stopped answering (its WebGL context was lost), so Mien switched to WebAssembly.',
    });
  }));
  const detectorProblem = await loadDetector(); // models live on their backend: load them again
  const model = await loadExpressionModel(url);
  return { name, note, description: await describeBackend(tf, renderer), ...model, problem: detectorProblem ?? model.problem };
}

/** Milliseconds of one batch of three detector inputs on the current backend (to choose one by). */
async function timeDetector() {
  const candidate = await FaceDetector.load(tf, await loadFinder());
  const input = tf.zeros([3, candidate.inputSize, candidate.inputSize, 3]);
  const run = async () => {
    const outputs = candidate.model.execute(input);
    await (Array.isArray(outputs) ? outputs[0] : outputs).data();
    tf.dispose(outputs);
  };
  await run(); // the first runs compile the GPU's programs
  await run();
  const started = performance.now();
  for (let i = 0; i < 5; i += 1) await run();
  const ms = (performance.now() - started) / 5;
  tf.dispose(input);
  candidate.dispose();
  return ms;
}

// --- analysis -----------------------------------------------------------------------------------

/** Find and read the faces of one picture (analyser.js); rejects while the detector is not loaded. */
function analyse(picture, options) {
  if (!analyser) throw new Error('The face detector is not loaded.');
  return analyser.analyse(picture, options);
}

/** One watched frame analysed: the result with the stream's running speed figures. */
async function analyseWatchedFrame(picture, { session, source }) {
  const result = await analyse(picture, { live: true });
  timings.push({ at: performance.now(), ms: result.ms });
  if (timings.length > TIMING_WINDOW) timings.shift();
  const sorted = timings.map((timing) => timing.ms).sort((a, b) => a - b);
  const span = timings.at(-1).at - timings[0].at;
  return {
    type: 'result', source, session, ...result,
    msPerFrame: sorted[Math.floor(sorted.length / 2)],
    fps: span > 0 ? (1000 * (timings.length - 1)) / span : 0,
  };
}

/** Start watching: a new stream's faces are new faces. */
function startWatching({ session, source, smoothing }) {
  stopWatching();
  watching = { session, source, waiting: null, busy: false };
  analyser?.watch({ smoothing });
  timings.length = 0;
}

function stopWatching() {
  if (!watching) return;
  watching.reader?.cancel().catch(() => {});
  watching.track?.stop();
  watching.waiting?.close();
  watching = null;
}

/** Analyse one watched frame and post its result (or the sentence of its failure); closes the frame. */
function analyseAndPost(frame, stream) {
  return exclusive(async () => {
    try {
      if (watching === stream && !paused) self.postMessage(await analyseWatchedFrame(frame, stream));
    } catch (error) {
      self.postMessage({ type: 'error', topic: 'analysis', session: stream.session, message: `Analysing the picture failed (${error.message}); try another backend.` });
    } finally {
      frame.close();
    }
  });
}

/** Analyse a stream's frames as they come (the stream keeps only the newest), until it ends or the page says stop. */
async function readFrames(readable, stream) {
  const reader = readable.getReader();
  stream.reader = reader;
  try {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) break;
      await analyseAndPost(frame, stream);
    }
  } catch {
    // cancelled: stopped
  } finally {
    if (watching === stream) self.postMessage({ type: 'ended', session: stream.session });
  }
}

/** A frame posted by the page: analysed now, or kept as the newest while another is analysed. */
async function takeFrame(frame, session) {
  const stream = watching;
  if (stream?.session !== session) return frame.close();
  if (stream.busy) {
    stream.waiting?.close(); // a newer frame came: the older one is never analysed
    stream.waiting = frame;
    return undefined;
  }
  stream.busy = true;
  let next = frame;
  while (next) {
    await analyseAndPost(next, stream);
    [next, stream.waiting] = [stream.waiting, null];
  }
  stream.busy = false;
  return undefined;
}

// --- requests from mien.js ----------------------------------------------------------------------

const handlers = {
  backend: (request) => exclusive(() => {
    renderer = request.renderer;
    wantFeatures = Boolean(request.features);
    return useBackend(request.requested, request.url, request.threads);
  }),
  model: ({ url }) => {
    const request = ++modelRequests;
    return exclusive(() => (request === modelRequests ? loadExpressionModel(url) : { superseded: true }));
  },
  personalise: ({ examples }) => exclusive(async () => {
    if (!expressionModel?.metadata.features || !expressionModel.metadata.personal) throw new Error('This expression model gives no features to fit a profile with; export it again with this version of Mien.');
    const { classes, features: { shape: [, width] } } = expressionModel.metadata;
    let skipped = 0;
    const usable = {};
    for (const [name, items] of Object.entries(examples)) {
      usable[name] = [];
      for (const item of items) {
        if (!item.bitmap) {
          if (!finiteNumbers(item.features, width) || !finiteNumbers(item.scores, classes.length)) {
            throw Object.assign(new Error(`A face given as an example of "${name}" has no features of this model (${width} finite numbers) or scores of its ${classes.length} classes; give faces from results of a Mien created with {features: true} and this model, or pictures.`), { topic: 'argument' });
          }
          usable[name].push(item);
          continue;
        }
        try { // a picture: its largest face
          const face = await analyser.subject(item.bitmap);
          if (face) usable[name].push(face);
          else skipped += 1;
        } finally {
          item.bitmap.close();
        }
      }
      if (!usable[name].length) delete usable[name];
    }
    if (!Object.keys(usable).length) throw new Error(`No face was found in the ${skipped} picture(s) given, so no profile can be made; give pictures where one face looks at the camera.`);
    return { profile: fitProfile(tf, expressionModel.metadata, usable, { skipped }) };
  }),
  profile: ({ profile: wanted }) => exclusive(() => {
    const problem = wanted && (expressionModel ? profileProblem(wanted, expressionModel.metadata) : 'No expression model is loaded to use a profile with.');
    if (problem) throw Object.assign(new Error(problem), { topic: expressionModel ? 'argument' : 'model' });
    analyser?.useProfile(wanted);
    return {};
  }),
  watch: ({ readable, track, ...settings }) => {
    startWatching(settings);
    if (track) watching.track = track;
    const frames = readable ?? (track && new MediaStreamTrackProcessor({ track }).readable);
    if (frames) readFrames(frames, watching);
    return {};
  },
  analyse: ({ bitmap }) => exclusive(async () => {
    try {
      return await analyse(bitmap, { live: false });
    } finally {
      bitmap.close();
    }
  }),
  stop: () => {
    stopWatching();
    analyser?.watch();
    return {};
  },
  pause: ({ hidden }) => {
    paused = hidden;
    return {};
  },
};

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  if (type === 'frame') return takeFrame(data.frame, data.session); // posted frames are not answered
  try {
    self.postMessage({ id, ok: true, ...(await handlers[type](data)) });
  } catch (error) {
    console.error(error);
    self.postMessage({ id, ok: false, message: error.message, topic: error.topic });
  }
};

self.postMessage({ type: 'ready', trackProcessor: typeof MediaStreamTrackProcessor !== 'undefined' });
