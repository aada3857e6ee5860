// Mien from its npm package, bundled by Vite with no configuration: Vite finds the worker and every
// file it loads (TF.js, its wasm files, the detector, the model) and emits them into dist/assets/.
import { Mien } from 'mien-expressions';
import 'mien-expressions/camera'; // defines <mien-camera>

const say = (text) => { document.getElementById('message').textContent = text; };
const list = (id, faces) => document.getElementById(id).replaceChildren(...faces.map((face) =>
  Object.assign(document.createElement('li'), { textContent: `face ${face.id}: ${face.label}` })));

// <mien-camera> runs its own Mien; its events bubble out of it.
const camera = document.querySelector('mien-camera');
camera.addEventListener('result', ({ detail }) => list('faces', detail.faces));
camera.addEventListener('error', ({ detail }) => say(detail.message));

// A photo the visitor chooses, read by a Mien of the page's own, started on the first photo.
let starting = null;
const input = document.getElementById('photo-input');
input.addEventListener('change', async () => {
  const [file] = input.files;
  if (!file) return;
  try {
    starting ??= Mien.create().catch((error) => { starting = null; throw error; });
    const mien = await starting;
    list('photo-faces', (await mien.analyse(file)).faces);
  } catch (error) {
    say(error.message); // one sentence: what went wrong and what to do
  }
});
