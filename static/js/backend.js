// Choosing the TF.js backend: WebGL on a real GPU; WebAssembly (SIMD, threaded when the page is
// cross-origin isolated) when WebGL is missing, fails or is a software renderer; plain JS last.

export const BACKENDS = ['webgl', 'wasm', 'cpu'];
const WASM_FILES = '/vendor/tfjs-backend-wasm/';
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/** The GPU's name as WebGL reports it, or null when this browser has no WebGL. */
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

/** The order to try backends in, and why, when the visitor has not chosen one. */
export function automaticOrder() {
  const renderer = webglRenderer();
  if (renderer === null) {
    return { order: ['wasm', 'cpu'], note: 'This browser has no WebGL, so Mien runs on WebAssembly (CPU).' };
  }
  if (isSoftwareRenderer(renderer)) {
    return {
      order: ['wasm', 'webgl', 'cpu'],
      note: `WebGL here is a software renderer (${renderer}); WebAssembly is faster, so Mien uses it.`,
    };
  }
  return { order: ['webgl', 'wasm', 'cpu'], note: null };
}

async function trySetBackend(tf, name) {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch (error) {
    console.warn(`TF.js backend ${name} failed:`, error);
    return false;
  }
}

/**
 * Switch TF.js to `requested` ('auto' or one of BACKENDS), falling back along the way.
 * Resolves to {name, note}: the backend in use and a sentence for the visitor, or null.
 */
export async function chooseBackend(tf, requested = 'auto') {
  tf.wasm?.setWasmPaths(WASM_FILES);
  let { order, note } = automaticOrder();
  if (BACKENDS.includes(requested)) order = [requested, ...order.filter((name) => name !== requested)];
  for (const name of order) {
    if (await trySetBackend(tf, name)) {
      const fellBack = BACKENDS.includes(requested) && name !== requested;
      if (fellBack) note = `The ${requested} backend could not start here, so Mien runs on ${name}.`;
      return { name, note: fellBack || requested === 'auto' ? note : null };
    }
  }
  throw new Error('No TensorFlow.js backend could start in this browser.');
}

/** A short description of the running backend: the GPU, or the wasm features. */
export async function describeBackend(tf) {
  const name = tf.getBackend();
  if (name === 'webgl') return `WebGL · ${webglRenderer() ?? 'GPU'}`;
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threaded = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && self.crossOriginIsolated;
    const threads = threaded ? tf.wasm.getThreadsCount() : 1;
    return `WebAssembly${simd ? ' · SIMD' : ''} · ${threads} thread${threads === 1 ? '' : 's'}`;
  }
  return 'JavaScript (CPU)';
}

/** Call `onLost` if the WebGL backend's context is lost (GPU reset, driver crash, too many tabs). */
export function watchContextLoss(tf, onLost) {
  const canvas = tf.getBackend() === 'webgl' ? tf.backend().gpgpu?.gl?.canvas : null;
  canvas?.addEventListener('webglcontextlost', (event) => {
    event.preventDefault();
    onLost();
  }, { once: true });
}
