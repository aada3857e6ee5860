// The expression model: loads the exported graph model and its metadata.json, crops each face
// the way the training faces were cropped, and classifies all faces of a frame in one batch.
// Class names, input size and the crop geometry all come from metadata.json.

import { overlap } from './boxes.js';
import { blockMeans, largestChange } from './pixels.js';

/**
 * The roll of a face (radians, clockwise as seen): the angle of the line from the eye on the
 * picture's left to the other (the detector's `eyes`, [[x, y], [x, y]]); 0 without eyes.
 */
export function faceRoll(eyes) {
  if (!eyes) return 0;
  const [[leftX, leftY], [rightX, rightY]] = eyes;
  return Math.atan2(rightY - leftY, rightX - leftX);
}

/**
 * The square (left, top, side) in whole source pixels to cut out for a detector box of a face
 * rolled by `roll`, by the model's crop `geometry` ({scale, shift_y}; the shift along the face's
 * vertical axis), rounded as pipeline.faces.crop rounds it, so both cut the same pixels.
 */
export function cropSquare([x, y, width, height], geometry, roll = 0) {
  const mean = (width + height) / 2;
  const side = geometry.scale * mean;
  const centreX = x + width / 2 - Math.sin(roll) * geometry.shift_y * mean;
  const centreY = y + height / 2 + Math.cos(roll) * geometry.shift_y * mean;
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
    // The graph's outputs to compute: the class scores, and the features where the model has them.
    this.outputs = [metadata.output.tensor, metadata.features?.tensor].filter(Boolean).map((name) => name.replace(/:0$/, ''));
    this.classified = []; // the faces of the last frame of a stream: {box, answer, thumbnail}
  }

  /**
   * Class probabilities for each face, and its features where the model gives them: `pixels` are
   * the picture's (pixels.js), `faces` the detector's [{box, eyes}]. Resolves to one {scores, features}
   * per face (Float32Arrays; features null without them). Given `still` (a stream's
   * face-finder.json settings), a face whose crop has not changed since it was last classified (no
   * block of its thumbnail by more than still.crop_change grey levels) keeps its answer, and only
   * the others go through the network.
   */
  async classify(pixels, faces, still = null) {
    const { tf, inputSize: size } = this;
    const started = performance.now();
    // Raw 0-255 grey values: the model scales them itself.
    const crops = faces.map(({ box, eyes }) => {
      const crop = new Float32Array(size * size);
      const roll = this.crop.upright ? faceRoll(eyes) : 0; // turned upright where the model's geometry says so
      pixels.grayCrop(cropSquare(box, this.crop, roll), size, crop, 0, roll);
      return crop;
    });
    const thumbnails = still ? crops.map((crop) => blockMeans(crop, size, still.crop_thumbnail)) : [];
    const kept = faces.map(({ box }, index) => (still ? this.classified.find((old) => overlap(old.box, box) >= still.same_face
      && largestChange(old.thumbnail, thumbnails[index]) <= still.crop_change) : undefined));
    const pending = faces.map((_, index) => index).filter((index) => !kept[index]);
    const prepared = performance.now();
    const answers = faces.map((_, index) => kept[index]?.answer);
    if (pending.length) {
      const batch = new Float32Array(pending.length * size * size);
      pending.forEach((face, index) => batch.set(crops[face], index * size * size));
      const input = tf.tensor4d(batch, [pending.length, size, size, 1]);
      const outputs = [this.model.execute(input, this.outputs)].flat(); // one output comes as a tensor, two as a list
      const [scores, features = null] = await Promise.all(outputs.map((output) => output.data()));
      tf.dispose([input, outputs]);
      const width = features && features.length / pending.length;
      const count = this.classes.length;
      pending.forEach((face, index) => {
        answers[face] = {
          scores: scores.slice(index * count, (index + 1) * count),
          features: features && features.slice(index * width, (index + 1) * width),
        };
      });
    }
    this.timing = { prepare: prepared - started, run: performance.now() - prepared, classified: pending.length };
    // What the next frame compares with: each face's crop as it was when its answer was computed.
    if (still) this.classified = faces.map(({ box }, index) => ({ box, answer: answers[index], thumbnail: kept[index]?.thumbnail ?? thumbnails[index] }));
    return answers;
  }

  /** Forget the faces classified so far (a new stream, or a picture on its own). */
  forget() {
    this.classified = [];
  }

  dispose() {
    this.model.dispose();
  }
}
