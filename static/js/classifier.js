// The expression model: loads the exported graph model and its metadata.json, crops each face
// the way the training faces were cropped, and classifies all faces of a frame in one batch.
// Class names, input size and the crop geometry all come from metadata.json.

/**
 * The square (left, top, side) in whole source pixels to cut out for a detector box, by the
 * model's crop `geometry` ({scale, shift_y}), rounded as pipeline.faces.crop rounds it, so both
 * cut the same pixels.
 */
export function cropSquare([x, y, width, height], geometry) {
  const mean = (width + height) / 2;
  const side = geometry.scale * mean;
  const centreX = x + width / 2;
  const centreY = y + height / 2 + geometry.shift_y * mean;
  return [centreX - side / 2, centreY - side / 2, side].map(Math.round);
}

export class ExpressionModel {
  /**
   * Load the model in the folder at `url` (ending in /). Rejects with a sentence when its files do
   * not load, or when its class names do not match its outputs (scores under the wrong names).
   */
  static async load(tf, url) {
    const folder = new URL(url, location.href);
    const response = await fetch(new URL('metadata.json', folder));
    if (!response.ok) throw new Error(`its metadata.json answered ${response.status}`);
    const metadata = await response.json();
    const model = await tf.loadGraphModel(new URL('model.json', folder).href);
    const { outputs: signature } = model.modelSignature;
    const output = signature[metadata.output?.name] ?? Object.values(signature)[0];
    const outputs = Number(output.tensorShape.dim.at(-1).size);
    const { classes } = metadata;
    if (!Array.isArray(classes) || !classes.every((name) => typeof name === 'string' && name) || classes.length !== outputs) {
      model.dispose();
      throw new Error(`its metadata.json names ${Array.isArray(classes) ? classes.length : 'no list of'} classes for its ${outputs} outputs`);
    }
    return new ExpressionModel(tf, model, metadata);
  }

  constructor(tf, model, metadata) {
    this.tf = tf;
    this.model = model;
    this.metadata = metadata;
    this.classes = metadata.classes;
    this.inputSize = metadata.input.shape[1];
    this.crop = metadata.face_crop;
  }

  /**
   * Class probabilities for each face: `pixels` are the picture's (pixels.js), `faces` the
   * detector's [{box}]. Resolves to one Float32Array per face, in class order.
   */
  async classify(pixels, faces) {
    if (faces.length === 0) return [];
    const { tf, inputSize: size } = this;
    // Raw 0-255 grey values: the model scales them itself.
    const started = performance.now();
    const batch = new Float32Array(faces.length * size * size);
    faces.forEach(({ box }, index) => pixels.grayCrop(cropSquare(box, this.crop), size, batch, index * size * size));
    const prepared = performance.now();
    const scores = tf.tidy(() => this.model.predict(tf.tensor4d(batch, [faces.length, size, size, 1])));
    const values = await scores.data();
    scores.dispose();
    this.timing = { prepare: prepared - started, run: performance.now() - prepared };
    const count = this.classes.length;
    return faces.map((_, index) => values.slice(index * count, (index + 1) * count));
  }

  dispose() {
    this.model.dispose();
  }
}
