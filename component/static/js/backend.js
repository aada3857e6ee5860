// Choosing the TF.js backend: on a real GPU, WebGL or WebGPU, whichever runs Mien's networks
// faster there; WebAssembly (SIMD, threaded when the page is cross-origin isolated) when the GPU
// is missing, fails or is a software renderer; plain JS last. The page reads the WebGL renderer
// (webglRenderer), where the browser's settings about WebGL apply; the analysis worker, where
// TF.js runs, chooses with it and with the WebGPU adapter it sees.

import { TFJS, WASM_BINARIES } from './assets.js';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/** The GPU's name as WebGL reports it, or null when this browser has no WebGL (on the page). */
export function webglRenderer() {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') || canvas.getContext('webgl');
  if (!gl) return null;
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  gl.getExtension('WEBGL_lose_context')?.loseContext(); // free the probe's context at once
  return String(renderer);
}

export const isSoftwareRenderer = (renderer) => SOFTWARE_RENDERERS.test(renderer);

/**
 * The graphics card in words, from WebGL's renderer string: "NVIDIA GeForce RTX 3060" out of
 * "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)".
 */
export function gpuName(renderer) {
  if (isSoftwareRenderer(renderer)) return 'software renderer, no graphics card';
  const angle = /^ANGLE \((.*)\)$/.exec(renderer);
  if (!angle) return renderer;
  const device = angle[1].split(', ')[1] ?? angle[1];
  return device.replace(/^ANGLE Metal Renderer: /, '').replace(/ \(0x[0-9a-f]+\)/i, '')
    .replace(/ (Direct3D|OpenGL|Vulkan).*$/, '').trim();
}

/**
 * The WebGPU adapter this context would get: {name, hardware}, or null without WebGPU. A fallback
 * or software adapter (SwiftShader, llvmpipe) is not hardware.
 */
export async function webgpuAdapter() {
  try {
    const adapter = await globalThis.navigator?.gpu?.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'GPU';
    return { name, hardware: !adapter.isFallbackAdapter && !isSoftwareRenderer(name) && !/cpu/i.test(name) };
  } catch {
    return null;
  }
}

/**
 * The order to try backends in, and why, when the visitor has not chosen one. `renderer`: the
 * page's WebGL renderer (null: no WebGL); `adapter`: webgpuAdapter()'s answer. With both a
 * hardware WebGPU adapter and a real WebGL GPU, `race` lists the two to measure against each other.
 */
export function automaticOrder(renderer, adapter = null) {
  const webgpu = adapter?.hardware ? ['webgpu'] : [];
  if (renderer === null) {
    return { order: [...webgpu, 'wasm', 'cpu'], note: webgpu.length ? null : 'This browser has no WebGL, so Mien runs on WebAssembly (CPU).' };
  }
  if (isSoftwareRenderer(renderer)) {
    return {
      order: [...webgpu, 'wasm', 'webgl', 'cpu'],
      note: webgpu.length ? null : 'WebGL in this browser has no graphics card behind it (it runs in software), so Mien uses WebAssembly, which is faster here.',
    };
  }
  return { order: ['webgl', ...webgpu, 'wasm', 'cpu'], note: null, race: webgpu.length ? ['webgl', 'webgpu'] : null };
}

/** TF.js with its WebGL, CPU and WebAssembly backends (the WebGPU one is loaded when it is tried). */
export async function loadTfjs() {
  if (!globalThis.tf?.wasm) {
    // UMD scripts that set the global tf: imported by URL, so that bundlers copy them rather than parse them.
    await import(/* webpackIgnore: true */ /* @vite-ignore */ TFJS.core);
    await import(/* webpackIgnore: true */ /* @vite-ignore */ TFJS.wasm);
  }
  return globalThis.tf;
}

/** Whether this context may compile WebAssembly (a Content-Security-Policy without 'wasm-unsafe-eval' forbids it). */
export function webAssemblyAllowed() {
  try {
    return Boolean(new WebAssembly.Module(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0)));
  } catch {
    return false;
  }
}

/**
 * Whether the WebAssembly backend would run more than one thread: TF.js takes half the logical
 * cores, and only where the page is cross-origin isolated. Where it would run one, its pool of
 * helper workers is never made (in Firefox that start-up froze about one load in four).
 */
export const wasmThreadsHelp = () => Boolean(self.crossOriginIsolated) && (navigator.hardwareConcurrency ?? 1) >= 4;

async function trySetBackend(tf, name) {
  try {
    if (name === 'webgpu' && !tf.findBackendFactory('webgpu')) await import(/* webpackIgnore: true */ /* @vite-ignore */ TFJS.webgpu);
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch (error) {
    console.warn(`TF.js backend ${name} failed:`, error);
    return false;
  }
}

/**
 * Switch TF.js to `requested` ('auto' or one of BACKENDS), falling back along the way; `renderer`
 * is the page's webglRenderer() (null: no WebGL). On a machine where both WebGL and WebGPU run on
 * real hardware, 'auto' times `workload` (an async function of the backend's name, resolving to
 * milliseconds) on each and takes the faster, once per worker. `threads: false` keeps WebAssembly
 * on one thread; `onPool(started)` is called before (false) and after (true) WebAssembly starts its
 * pool of threads. Resolves to {name, note}: the backend in use and a sentence for the visitor, or
 * null. Rejects with a sentence where the page's Content-Security-Policy forbids WebAssembly and
 * only a software renderer or plain JavaScript would be left.
 */
export async function chooseBackend(tf, requested, renderer, { workload = null, threads = true, onPool = () => {} } = {}) {
  tf.wasm.setWasmPaths(WASM_BINARIES);
  const pooled = threads && wasmThreadsHelp();
  if (!pooled) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  let { order, note, race } = automaticOrder(renderer, await webgpuAdapter());
  if ((requested === 'wasm' || (requested === 'auto' && order[0] === 'wasm')) && !webAssemblyAllowed()) {
    throw Object.assign(new Error("The page's Content-Security-Policy does not let WebAssembly run, and without it Mien would be left with a software renderer here; add 'wasm-unsafe-eval' to the policy's script-src (README: Content Security Policy)."), { topic: 'csp' });
  }
  if (requested === 'auto' && race && workload) {
    raced ??= await fastest(tf, race, workload);
    order = [raced, ...order.filter((name) => name !== raced)];
  }
  if (BACKENDS.includes(requested)) order = [requested, ...order.filter((name) => name !== requested)];
  for (const name of order) {
    if (name === 'wasm' && pooled) onPool(false);
    const started = await trySetBackend(tf, name);
    if (name === 'wasm' && pooled) onPool(true);
    if (started) {
      if (name !== order[0]) note = `The ${order[0]} backend could not start here, so Mien runs on ${name}.`; // the note always names the backend in use
      return { name, note: name !== order[0] || requested === 'auto' ? note : null };
    }
  }
  throw new Error('No TensorFlow.js backend could start in this browser.');
}

let raced = null; // the faster of WebGL and WebGPU here, once measured

/** Which of `names` runs `workload` fastest (each measured on its own backend). */
async function fastest(tf, names, workload) {
  const times = {};
  for (const name of names) {
    times[name] = (await trySetBackend(tf, name)) ? await workload(name) : Infinity;
  }
  return names.reduce((best, name) => (times[name] < times[best] ? name : best));
}

/** A short description of the running backend: the GPU, or the wasm features. */
export async function describeBackend(tf, renderer) {
  const name = tf.getBackend();
  if (name === 'webgl') return `WebGL · ${gpuName(renderer ?? 'GPU')}`;
  if (name === 'webgpu') {
    const adapter = await webgpuAdapter();
    return `WebGPU · ${adapter?.hardware ? adapter.name : 'software adapter, no graphics card'}`;
  }
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threaded = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && self.crossOriginIsolated;
    const threads = threaded ? tf.wasm.getThreadsCount() : 1;
    return `WebAssembly${simd ? ' · SIMD' : ''} · ${threads} thread${threads === 1 ? '' : 's'}`;
  }
  return 'JavaScript (CPU)';
}

/** Call `onLost` if the GPU backend loses its GPU (WebGL context or WebGPU device: a GPU reset, a driver crash, too many tabs). */
export function watchContextLoss(tf, onLost) {
  if (tf.getBackend() === 'webgpu') {
    tf.backend().device?.lost.then(({ reason }) => { if (reason !== 'destroyed') onLost(); });
    return;
  }
  const canvas = tf.getBackend() === 'webgl' ? tf.backend().gpgpu?.gl?.canvas : null;
  canvas?.addEventListener('webglcontextlost', (event) => {
    event.preventDefault();
    onLost();
  }, { once: true });
}
