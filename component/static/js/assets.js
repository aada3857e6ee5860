// Every file the analysis worker loads, each named by a literal path relative to this module. Served
// as they are (our server, the npm package's folder copied to any host), the paths resolve to the
// same layout; bundlers (Vite, webpack 5) recognise `new URL('literal', import.meta.url)` and emit
// each file as an asset, so an app that bundles Mien needs no file copied by hand. The names are
// checked against face-finder.json, the exported model and web.vendor by tests/test_component.py.

/** TF.js and its backends: UMD scripts, loaded by import() of their URL (so bundlers leave them whole). */
export const TFJS = {
  core: new URL('../../vendor/tfjs/tf.es2017.min.js', import.meta.url).href,
  wasm: new URL('../../vendor/tfjs-backend-wasm/tf-backend-wasm.es2017.min.js', import.meta.url).href,
  webgpu: new URL('../../vendor/tfjs-backend-webgpu/tf-backend-webgpu.es2017.min.js', import.meta.url).href,
};

/** The WebAssembly backend's binaries, by the names TF.js asks for (tf.wasm.setWasmPaths takes this map). */
export const WASM_BINARIES = {
  'tfjs-backend-wasm.wasm': new URL('../../vendor/tfjs-backend-wasm/tfjs-backend-wasm.wasm', import.meta.url).href,
  'tfjs-backend-wasm-simd.wasm': new URL('../../vendor/tfjs-backend-wasm/tfjs-backend-wasm-simd.wasm', import.meta.url).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL('../../vendor/tfjs-backend-wasm/tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
};

/** How faces are found (face-finder.json, which pipeline.detect reads too). */
export const FACE_FINDER = new URL('../face-finder.json', import.meta.url).href;

/** The face detector face-finder.json names: its graph and weights. */
export const DETECTOR = {
  file: 'facemesh-detection-short.json',
  graph: new URL('../../vendor/face-detector/facemesh-detection-short.json', import.meta.url).href,
  weights: { 'facemesh-detection-short.bin': new URL('../../vendor/face-detector/facemesh-detection-short.bin', import.meta.url).href },
};

/** The expression model that comes with the component (the server's and the package's models/model/). */
export const DEFAULT_MODEL = {
  metadata: new URL('../../models/model/metadata.json', import.meta.url).href,
  graph: new URL('../../models/model/model.json', import.meta.url).href,
  weights: { 'group1-shard1of1.bin': new URL('../../models/model/group1-shard1of1.bin', import.meta.url).href },
};

/**
 * The JSON at `url`. A bundler may have inlined a small file as a data: URL, which a page's strict
 * Content-Security-Policy (connect-src) would not let fetch read: those are decoded here.
 */
export async function readJson(url, name = url) {
  const inlined = /^data:([^,]*),(.*)$/s.exec(url);
  if (inlined) {
    const text = inlined[1].endsWith(';base64')
      ? new TextDecoder().decode(Uint8Array.from(atob(inlined[2]), (c) => c.charCodeAt(0)))
      : decodeURIComponent(inlined[2]);
    return JSON.parse(text);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${name} answered ${response.status}`);
  return response.json();
}

/** A TF.js IO handler for the graph at `graph` whose weight files are at `weights` (by name), else beside it. */
export function graphFiles(tf, graph, weights = {}) {
  return tf.io.http(graph, { weightUrlConverter: async (name) => weights[name] ?? new URL(name, graph).href });
}

/**
 * The sentence for a file or worker that a Content-Security-Policy refused: `directive` (the
 * violation's effectiveDirective) and `blocked` (its blockedURI), as securitypolicyviolation events give them.
 */
export function policySentence({ directive, blocked }, origin) {
  const source = /^https?:/.test(blocked) ? new URL(blocked).origin : `${blocked.replace(/:$/, '')}:`;
  const named = source === origin ? "'self'" : source;
  return `The page's Content-Security-Policy blocked ${/^https?:/.test(blocked) ? blocked : source} (${directive}), so Mien cannot load it; add ${named} to the policy's ${directive.replace(/-(elem|attr)$/, '')} (README: Content Security Policy).`;
}
