// Typed use of the package, checked by tsc --noEmit in tests/test_component.py.
import { Mien, type Face, type WatchResult } from 'mien-expressions';
import { MienCamera } from 'mien-expressions/camera';

const mien: Mien = await Mien.create({ model: '/models/model/', backend: 'auto', smoothing: true });
mien.addEventListener('result', (event) => {
  const result: WatchResult = event.detail;
  const faces: Face[] = result.faces;
  for (const face of faces) console.log(face.id, face.label, face.box[2], face.scores.happy);
});
mien.addEventListener('error', (event) => console.error(event.detail.message, event.detail.topic));
const stream = await navigator.mediaDevices.getUserMedia({ video: true });
await mien.watch(stream);
const { faces, width, height, ms } = await mien.analyse(document.createElement('canvas'));
console.log(faces.length, width, height, ms, mien.classes?.join(), mien.backend);
const profile = await mien.personalise({ neutral: [document.createElement('canvas')] });
await mien.useProfile(profile.correction ? profile : null);
await mien.setModel(null);
await mien.setBackend('wasm');
mien.stop();
mien.dispose();
const camera: MienCamera = document.createElement('mien-camera');
console.log(camera.mien);
