// Face detection with BlazeFace (MediaPipe's face detector; the weights ship in the npm package
// @vladmandic/human) on the same TF.js backend as the expression model.
//
// The module takes `tf` as an argument instead of importing it, so the page and Node scripts
// (benchmarks) run the very same code.

const SCORE_THRESHOLD = 0.6;
const IOU_THRESHOLD = 0.3;
const MAX_FACES = 10;

// Anchor centres, in input pixels: a 16x16 grid with 2 anchors per cell, then 8x8 with 6.
function anchorCentres(inputSize) {
  const centres = [];
  for (const [stride, perCell] of [[inputSize / 16, 2], [inputSize / 8, 6]]) {
    const cells = Math.ceil(inputSize / stride);
    for (let row = 0; row < cells; row += 1) {
      for (let column = 0; column < cells; column += 1) {
        for (let n = 0; n < perCell; n += 1) centres.push([stride * (column + 0.5), stride * (row + 0.5)]);
      }
    }
  }
  return centres;
}

export class FaceDetector {
  /** Load the BlazeFace graph model from `url` (its model.json). */
  static async load(tf, url) {
    return new FaceDetector(tf, await tf.loadGraphModel(url));
  }

  constructor(tf, model) {
    this.tf = tf;
    this.model = model;
    this.inputSize = model.inputs[0].shape[1];
    this.anchors = tf.tensor2d(anchorCentres(this.inputSize));
  }

  /**
   * Find faces in `frame`, an RGB tensor [height, width, 3] of 0-255 values.
   * Resolves to [{box: [x, y, width, height], score}] in frame pixels, best first.
   */
  async detect(frame, { minScore = SCORE_THRESHOLD, maxFaces = MAX_FACES } = {}) {
    const { tf } = this;
    const [height, width] = frame.shape;
    // Letterbox: shrink the frame to fit the input square, keeping its shape, and pad the rest.
    const side = Math.max(height, width);
    const fitted = [Math.round((height * this.inputSize) / side), Math.round((width * this.inputSize) / side)];
    const { corners, scores } = tf.tidy(() => {
      const resized = tf.image.resizeBilinear(frame.expandDims(0).toFloat(), fitted).div(127.5).sub(1);
      const input = tf.pad(resized, [[0, 0], [0, this.inputSize - fitted[0]], [0, this.inputSize - fitted[1]], [0, 0]]);
      // Four outputs: scores and boxes for each anchor grid; sorted by size they are
      // [384x1 scores, 512x1 scores, 384x16 boxes, 512x16 boxes].
      const [scores384, scores512, boxes384, boxes512] = this.model.execute(input).sort((a, b) => a.size - b.size);
      const raw = tf.concat([tf.concat([scores512, boxes512], 2), tf.concat([scores384, boxes384], 2)], 1).squeeze([0]);
      const centres = raw.slice([0, 1], [-1, 2]).add(this.anchors);
      const halves = raw.slice([0, 3], [-1, 2]).div(2);
      const [x1, y1] = tf.split(centres.sub(halves), 2, 1);
      const [x2, y2] = tf.split(centres.add(halves), 2, 1);
      return {
        corners: tf.concat([y1, x1, y2, x2], 1).mul(side / this.inputSize), // NMS wants [y1, x1, y2, x2]
        scores: tf.sigmoid(raw.slice([0, 0], [-1, 1])).squeeze([1]),
      };
    });
    const kept = await tf.image.nonMaxSuppressionAsync(corners, scores, maxFaces, IOU_THRESHOLD, minScore);
    const keptCorners = corners.gather(kept);
    const keptScores = scores.gather(kept);
    const [cornerValues, scoreValues] = await Promise.all([keptCorners.data(), keptScores.data()]);
    tf.dispose([corners, scores, kept, keptCorners, keptScores]);
    const faces = [];
    for (let i = 0; i < scoreValues.length; i += 1) {
      const [y1, x1, y2, x2] = cornerValues.subarray(i * 4, i * 4 + 4);
      faces.push({ box: [x1, y1, x2 - x1, y2 - y1], score: scoreValues[i] });
    }
    return faces;
  }

  dispose() {
    this.model.dispose();
    this.anchors.dispose();
  }
}
