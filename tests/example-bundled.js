// A page's own script importing the npm package, bundled by esbuild in tests/test_component.py;
// the package's files are served under /mien/, which `base` says.
import { Mien } from 'mien-expressions';

const mien = await Mien.create({ base: '/mien/' });
mien.addEventListener('result', ({ detail }) => {
  document.getElementById('faces').replaceChildren(...detail.faces.map((face) => Object.assign(document.createElement('li'), { textContent: face.label })));
});
await mien.watch(await navigator.mediaDevices.getUserMedia({ video: true }));
