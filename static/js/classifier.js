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

  /** The square (left, top, side) in frame pixels to cut out for a detector box. */
  cropSquare([x, y, width, height]) {
    const mean = (width + height) / 2;
    const side = this.crop.scale * mean;
    const centreX = x + width / 2;
    const centreY = y + height / 2 + this.crop.shift_y * mean;
    return [centreX - side / 2, centreY - side / 2, side];
  }

  /**
   * Class probabilities for each face: `frame` is an RGB tensor [height, width, 3] of 0-255 values,
   * `faces` the detector's [{box}]. Resolves to one Float32Array per face, in class order.
   */
  async classify(frame, faces) {
    if (faces.length === 0) return [];
    const { tf } = this;
    const [height, width] = frame.shape;
    const scores = tf.tidy(() => {
      const boxes = faces.map(({ box }) => {
        const [left, top, side] = this.cropSquare(box);
        return [top / (height - 1), left / (width - 1), (top + side) / (height - 1), (left + side) / (width - 1)];
      });
      // Sample at twice the size, then average 2x2 blocks: a cheap stand-in for area resizing.
      const size = 2 * this.inputSize;
      const crops = tf.image.cropAndResize(frame.expandDims(0).toFloat(), boxes, faces.map(() => 0), [size, size]);
      // Grayscale as OpenCV computes it; the model expects raw 0-255 values and scales them itself.
      const gray = crops.mul(tf.tensor1d([0.299, 0.587, 0.114])).sum(-1, true);
      return this.model.predict(tf.avgPool(gray, 2, 2, 'valid'));
    });
    const values = await scores.data();
    scores.dispose();
    const count = this.classes.length;
    return faces.map((_, index) => values.slice(index * count, (index + 1) * count));
  }

  dispose() {
    this.model.dispose();
  }
}
