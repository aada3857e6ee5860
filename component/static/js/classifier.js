// The expression model: loads the exported graph model and its metadata.json, crops each face
// the way the training faces were cropped, and classifies all faces of a frame in one batch.
// Class names, input size and the crop geometry all come from metadata.json.

import { graphFiles, readJson } from './assets.js';
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

/** A square grey crop (`size` x `size`) seen in a mirror: each row reversed. */
export function mirrored(crop, size) {
  const flipped = new Float32Array(crop.length);
  for (let row = 0; row < crop.length; row += size) {
    for (let column = 0; column < size; column += 1) flipped[row + column] = crop[row + size - 1 - column];
  }
  return flipped;
}

/** The average of two answers ({scores, features}), as the graph averages a face's two views. */
function average(a, b) {
  const mean = (x, y) => x && x.map((value, index) => (value + y[index]) / 2);
  return { scores: mean(a.scores, b.scores), features: mean(a.features, b.features) };
}

/** The files of the exported model in the folder at `url`. */
export function modelFiles(url) {
  const folder = new URL(url, location.href);
  return { metadata: new URL('metadata.json', folder).href, graph: new URL('model.json', folder).href, weights: {} };
}

export class ExpressionModel {
  /**
   * Load an exported model: the folder at `source` (a URL ending in /), or its files
   * ({metadata, graph, weights: {name: url}}, as assets.js names the default one). Rejects with a
   * sentence when its files do not load, or when its class names do not match its outputs (scores
   * under the wrong names).
   */
  static async load(tf, source) {
    const { metadata: metadataUrl, graph, weights } = source?.graph ? source : modelFiles(source);
    const metadata = await readJson(metadataUrl, 'its metadata.json');
    const model = await tf.loadGraphModel(graphFiles(tf, graph, weights));
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
    const node = (name) => name.replace(/:0$/, '');
    // The graph's outputs to compute: the class scores, and the features where the model has them.
    this.outputs = [metadata.output.tensor, metadata.features?.tensor].filter(Boolean).map(node);
    // Where one view of a face goes in and comes out, in a graph that averages it with its mirror image.
    const view = metadata.single_view;
    this.singleView = view && { input: node(view.input), outputs: [view.scores, view.features].map(node) };
    this.classified = []; // the faces of the last frame of a stream: {box, answer, thumbnail, views, frame}
    this.frame = 0; // frames of the stream classified so far
  }

  /**
   * Class probabilities for each face, and its features where the model gives them: `pixels` are
   * the picture's (pixels.js), `faces` the detector's [{box, eyes}]. Resolves to {answers: one
   * {scores, features} per face (Float32Arrays; features null without them), each the average of
   * the face's and its mirror image's where the model averages them; timing: {prepare, run} ms,
   * and how many faces and views went through the network}.
   *
   * Given `still` (a stream's face-finder.json settings), a frame of a stream: a face whose crop has
   * not changed since it was last classified (no block of its thumbnail by more than
   * still.crop_change grey levels) keeps its answer. Of a face that was classified in the frame
   * before, only one view goes through the network, the one not seen then (the crop as it is, or its
   * mirror image, in turns), and is averaged with that frame's other view: half of a moving face's
   * answer is one frame old. A face new to the stream has both views computed.
   */
  async classify(pixels, faces, still = null) {
    const { inputSize: size } = this;
    const started = performance.now();
    if (still) this.frame += 1;
    // Raw 0-255 grey values: the model scales them itself.
    const crops = faces.map(({ box, eyes }) => {
      const crop = new Float32Array(size * size);
      const roll = this.crop.upright ? faceRoll(eyes) : 0; // turned upright where the model's geometry says so
      pixels.grayCrop(cropSquare(box, this.crop, roll), size, crop, 0, roll);
      return crop;
    });
    const thumbnails = still ? crops.map((crop) => blockMeans(crop, size, still.crop_thumbnail)) : [];
    const before = faces.map(({ box }) => (still ? this.classified.find((old) => overlap(old.box, box) >= still.same_face) : undefined));
    const kept = before.map((old, index) => (old && largestChange(old.thumbnail, thumbnails[index]) <= still.crop_change ? old : undefined));
    const pending = faces.map((_, index) => index).filter((index) => !kept[index]);
    const prepared = performance.now();
    const answers = faces.map((_, index) => kept[index]?.answer);
    const views = faces.map((_, index) => kept[index]?.views);
    let computed = 0;
    if (pending.length && still && this.singleView) {
      // A face with views of the frame before: the other view alone; any other face: both.
      // [face, view]: view 0 the crop as it is, 1 its mirror image.
      const recent = before.map((old) => (old?.views && old.frame === this.frame - 1 ? old : undefined));
      const wanted = pending.flatMap((face) => (recent[face] ? [[face, recent[face].views.next]] : [[face, 0], [face, 1]]));
      const results = await this.run(wanted.map(([face, view]) => (view ? mirrored(crops[face], size) : crops[face])), this.singleView);
      pending.forEach((face) => { views[face] = { ...recent[face]?.views }; });
      wanted.forEach(([face, view], index) => {
        views[face][view] = results[index];
        views[face].next = 1 - view;
      });
      pending.forEach((face) => { answers[face] = average(views[face][0], views[face][1]); });
      computed = wanted.length;
    } else if (pending.length) {
      const results = await this.run(pending.map((face) => crops[face]));
      pending.forEach((face, index) => { answers[face] = results[index]; });
      computed = pending.length * (this.metadata.flip_average ? 2 : 1);
    }
    const timing = { prepare: prepared - started, run: performance.now() - prepared, classified: pending.length, views: computed };
    // What the next frame compares with: each face's crop as it was when its answer was computed.
    if (still) {
      this.classified = faces.map(({ box }, index) => ({
        box, answer: answers[index], thumbnail: kept[index]?.thumbnail ?? thumbnails[index],
        views: views[index], frame: kept[index]?.frame ?? this.frame,
      }));
    }
    return { answers, timing };
  }

  /**
   * Run the network on `inputs` (48x48 grey crops) in one batch: through the whole graph, or fed
   * and read at `tensors` ({input, outputs}); resolves to one {scores, features} per input.
   */
  async run(inputs, tensors = null) {
    const { tf, inputSize: size } = this;
    const batch = new Float32Array(inputs.length * size * size);
    inputs.forEach((crop, index) => batch.set(crop, index * size * size));
    const input = tf.tensor4d(batch, [inputs.length, size, size, 1]);
    const outputs = tensors ? this.model.execute({ [tensors.input]: input }, tensors.outputs)
      : [this.model.execute(input, this.outputs)].flat(); // one output comes as a tensor, two as a list
    const [scores, features = null] = await Promise.all(outputs.map((output) => output.data()));
    tf.dispose([input, outputs]);
    const count = this.classes.length;
    const width = features && features.length / inputs.length;
    return inputs.map((_, index) => ({
      scores: scores.slice(index * count, (index + 1) * count),
      features: features && features.slice(index * width, (index + 1) * width),
    }));
  }

  /** Forget the faces classified so far (a new stream, or a picture on its own). */
  forget() {
    this.classified = [];
    this.frame = 0;
  }

  dispose() {
    this.model.dispose();
  }
}
