// A realistic app's typed use of the package, compiled by tsc --strict and bundled by esbuild in
// tests/test_types.py: both export paths, MienError and its topic, every event typed.
import { BACKENDS, DEFAULTS, Mien, MienError, type AnalysisResult, type Backend, type Face, type MienErrorTopic, type Profile, type WatchResult } from 'mien-expressions';
import { MienCamera } from 'mien-expressions/camera';

const status = document.querySelector('output')!;
const list = document.querySelector('ul')!;

function explain(error: unknown): string {
  if (error instanceof MienError) {
    const topic: MienErrorTopic = error.topic;
    if (topic === 'camera' || topic === 'argument') return `Check the camera: ${error.message}`;
    return `${error.name} (${topic}): ${error.message}`;
  }
  return String(error);
}

function show(faces: Face[]): void {
  list.replaceChildren(...faces.map((face) => {
    const [x, y, width, height] = face.box;
    const happy = face.scores.happy ?? 0;
    return Object.assign(document.createElement('li'), { textContent: `${face.id}: ${face.label ?? 'a face'} at ${x},${y} (${width}x${height}), happy ${happy.toFixed(2)}${face.profile === true ? ' (profile)' : face.profile ?? ''}` });
  }));
}

const wanted: Backend = (BACKENDS as readonly string[]).includes(location.hash.slice(1)) ? location.hash.slice(1) as Backend : DEFAULTS.backend;
let mien: Mien;
try {
  mien = await Mien.create({ backend: wanted, smoothing: DEFAULTS.smoothing, features: true, frames: 'auto' });
} catch (error) {
  status.value = explain(error);
  throw error;
}
console.log(mien.options.model ?? 'the packed model', mien.options.backend, mien.model, mien.modelSha256, mien.backendDescription, mien.backendNote);

mien.addEventListener('result', (event) => {
  const result: WatchResult = event.detail;
  show(result.faces);
  status.value = `${result.source}: ${result.fps.toFixed(1)} fps, ${result.msPerFrame.toFixed(1)} ms (classifier ${result.stages.classifier.toFixed(1)} ms, ${result.stages.classifierViews} views)`;
});
mien.addEventListener('error', ({ detail }) => {
  status.value = `${detail.topic}: ${detail.message}`;
  if (detail instanceof MienError && detail.topic === 'backend') console.warn(detail.stack);
});
mien.addEventListener('backend', ({ detail: { name, description } }) => console.info(`now on ${name}: ${description}`));
mien.addEventListener('ended', ({ detail }) => {
  status.value = detail.message;
  if (detail.source === 'camera') startButton.hidden = false;
});

const video = document.querySelector('video')!;
const startButton = document.querySelector('button')!;
startButton.addEventListener('click', async () => {
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    await mien.watch(video);
    await video.play();
    startButton.hidden = true;
    console.log(mien.frameSource === 'track' ? 'frames from the track' : mien.frameSource);
  } catch (error) {
    status.value = explain(error);
  }
});

const photo = document.querySelector<HTMLInputElement>('input[type=file]')!;
photo.addEventListener('change', async () => {
  const file = photo.files?.[0];
  if (!file) return;
  const analysis: AnalysisResult = await mien.analyse(file).catch((error: unknown) => {
    status.value = explain(error);
    return { faces: [], width: 0, height: 0, ms: 0, stages: { read: 0, detectorInput: 0, detector: 0, crops: 0, classifier: 0, detectorPictures: 0, classified: 0, classifierViews: 0, rest: 0 } };
  });
  show(analysis.faces);
  console.log(analysis.width, analysis.height, analysis.ms.toFixed(0), analysis.stages.detectorPictures, mien.classes?.join());
});

async function teach(neutral: Face[], happy: Blob[]): Promise<Profile | null> {
  try {
    const profile = await mien.personalise({ neutral, happy });
    await mien.useProfile(profile.correction ? profile : null);
    return profile;
  } catch (error) {
    if (error instanceof MienError && error.topic === 'model') await mien.setModel(undefined);
    return null;
  }
}
console.log(await teach([], []));
await mien.setModel(new URL('/models/other/', location.href));
await mien.setModel(null);
await mien.setBackend('wasm');

// <mien-camera>: its events typed on the element, and a 'result' bubbling to the page.
const camera: MienCamera = document.createElement('mien-camera');
camera.setAttribute('backend', 'wasm');
camera.addEventListener('result', (event) => show(event.detail.faces));
camera.addEventListener('error', (event) => {
  const error: MienError = event.detail;
  status.value = `${error.topic}: ${error.message}`;
});
document.body.addEventListener('result', ({ detail }) => console.log(detail.source, detail.faces.length));
document.addEventListener('result', (event) => console.log(event.detail.msPerFrame));
document.body.append(camera);
const found: MienCamera | null = document.querySelector('mien-camera');
console.log(found?.mien?.backend);

window.addEventListener('pagehide', () => {
  mien.stop();
  mien.dispose();
  camera.remove();
});
