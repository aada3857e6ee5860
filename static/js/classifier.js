// The expression model: loads the exported graph model and its metadata.json, crops each face
// the way the training faces were cropped, and classifies all faces of a frame in one batch.
// Class names, input size and the crop geometry all come from metadata.json.

export class ExpressionModel {
  /** Load the model in the folder at `url` (ending in /). */
  static async load(tf, url) {
    const response = await fetch(`${url}metadata.json`);
    if (!response.ok) throw new Error(`metadata.json answered ${response.status}`);
    const metadata = await response.json();
    const model = await tf.loadGraphModel(`${url}model.json`);
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

  /** The square (left, top, side) in whole source pixels to cut out for a detector box. */
  cropSquare([x, y, width, height]) {
    const mean = (width + height) / 2;
    const side = this.crop.scale * mean;
    const centreX = x + width / 2;
    const centreY = y + height / 2 + this.crop.shift_y * mean;
    // Rounded as pipeline.faces.crop_face rounds it, so both cut the same pixels.
    return [centreX - side / 2, centreY - side / 2, side].map(Math.round);
  }

  /**
   * Class probabilities for each face: `pixels` are the picture's (pixels.js), `faces` the
   * detector's [{box}]. Resolves to one Float32Array per face, in class order.
   */
  async classify(pixels, faces) {
    if (faces.length === 0) return [];
    const { tf, inputSize: size } = this;
    // Raw 0-255 grey values: the model scales them itself.
    const batch = new Float32Array(faces.length * size * size);
    faces.forEach(({ box }, index) => pixels.grayCrop(this.cropSquare(box), size, batch, index * size * size));
    const scores = tf.tidy(() => this.model.predict(tf.tensor4d(batch, [faces.length, size, size, 1])));
    const values = await scores.data();
    scores.dispose();
    const count = this.classes.length;
    return faces.map((_, index) => values.slice(index * count, (index + 1) * count));
  }

  dispose() {
    this.model.dispose();
  }
}
