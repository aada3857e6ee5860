// Human (@vladmandic/human) as its users run it on a photo: its own face detector, mesh and
// emotion model, from its npm package, on its own bundled TF.js. Driven by python -m bench photos.

import { Human } from '/peers/human/human.esm.js';

const CONFIG = {
  modelBasePath: '/peers/human-models/',
  wasmPath: '/vendor/tfjs-backend-wasm/',
  debug: false,
  face: {
    enabled: true,
    detector: { rotation: true, maxDetected: 10 },
    mesh: { enabled: true },
    iris: { enabled: false },
    description: { enabled: false },
    emotion: { enabled: true, minConfidence: 0 }, // every class's score, not only the likely ones
    antispoof: { enabled: false },
    liveness: { enabled: false },
    attention: { enabled: false },
  },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
  filter: { enabled: false },
};

const loadImage = (url) => new Promise((resolve, reject) => {
  const image = new Image();
  image.onload = () => resolve(image);
  image.onerror = () => reject(new Error(`${url} did not load`));
  image.src = url;
});

window.bench = {
  /** Each photo of /bench/data/ through Human: per photo, its faces' boxes and emotion scores. */
  async humanPhotos(backend, files) {
    const human = new Human({ ...CONFIG, backend });
    await human.load();
    const photos = [];
    for (const file of files) {
      const result = await human.detect(await loadImage(`/bench/data/${file}`));
      photos.push(result.face.map((face) => ({
        box: face.box, scores: Object.fromEntries((face.emotion ?? []).map(({ emotion, score }) => [emotion, score])),
      })));
    }
    return { backend: human.tf.getBackend(), photos };
  },
};
