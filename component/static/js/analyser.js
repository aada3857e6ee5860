// One picture in, its faces out: the face detector, the face finder that follows a stream's faces
// from frame to frame, the expression model, the tracker that smooths what it reads and the
// profile in use, composed once. The analysis worker is a thin adapter over it (its messages
// become these calls), and the benchmarks' pages use it as it is.

import { largest } from './boxes.js';
import { FaceFinder, detectEverywhere } from './detector.js';
import { personalScores } from './personal.js';
import { readPixels } from './pixels.js';
import { FaceTracker } from './tracker.js';

export class Analyser {
  /**
   * `detector`: a loaded FaceDetector (its face-finder.json settings say how to look, follow and
   * smooth); `features`: whether faces carry their features and the shipped model's scores.
   */
  constructor(detector, { features = false } = {}) {
    this.detector = detector;
    this.settings = detector.finder; // face-finder.json
    this.finder = new FaceFinder(detector);
    this.features = features;
    this.model = null; // an ExpressionModel, or null: faces are found, not read
    this.profile = null; // the person's profile in use (personal.js), or null: the shipped model's scores
    this.tracker = new FaceTracker(this.settings.smoothing);
    this.pictureCopy = new OffscreenCanvas(1, 1).getContext('2d', { willReadFrequently: true });
  }

  /** Read faces with `model` (an ExpressionModel, or null); its profile, if any, is dropped unless `keepProfile`. */
  useModel(model, { keepProfile = false } = {}) {
    this.model = model;
    if (!keepProfile) this.profile = null;
    this.tracker.reset(); // smoothed scores of another model mean nothing to this one
  }

  /** Read faces with `profile` (checked by the caller), or with the shipped model (null). */
  useProfile(profile) {
    this.profile = profile;
    this.tracker.reset(); // scores smoothed without the profile mean nothing with it
  }

  /** A new stream: its faces are new faces; `smoothing` false reports each frame's own boxes and scores. */
  watch({ smoothing = true } = {}) {
    this.tracker = new FaceTracker(smoothing ? this.settings.smoothing : { ...this.settings.smoothing, keep_scores: 0, keep_box: 0 });
    this.finder.reset();
    this.model?.forget();
  }

  /**
   * Find and read the faces of one picture (a VideoFrame, ImageBitmap or canvas): a frame of the
   * stream (`live`), its faces followed and smoothed from frame to frame; a picture alone, searched
   * all over for small faces. Resolves to {faces, width, height, ms, stages}: the faces as the
   * component gives them (mien.d.ts's Face), and where the milliseconds went (mien.d.ts's Stages).
   */
  async analyse(picture, { live = false } = {}) {
    const { detector, model } = this;
    const started = performance.now();
    const pixels = await readPixels(picture, this.pictureCopy); // read once, used by both networks
    const read = performance.now();
    const { faces: boxes, timing: search } = live ? await this.finder.find(pixels) : await detectEverywhere(pixels, detector);
    const found = performance.now();
    // A watched frame without faces goes through too: what the next frame compares with is then nothing.
    const { answers, timing: reading } = model && (boxes.length || live)
      ? await model.classify(pixels, boxes, live ? this.settings.still : null)
      : { answers: boxes.map(() => ({})), timing: null };
    const classified = performance.now();
    const scored = boxes.map((face, index) => {
      const { scores: shipped, features } = answers[index];
      const scores = shipped && (this.profile ? personalScores(this.profile, shipped, features) : shipped);
      return { id: index + 1, box: face.box, scores: scores && Array.from(scores), features, shipped };
    });
    const faces = (live ? this.tracker.update(scored) : scored.map((face) => ({ ...face, frame: face }))).map((face) => this.describe(face));
    const finished = performance.now();
    const ran = boxes.length && reading;
    // Where the time went (ms): reading the picture; the detector's inputs (resizing the areas it
    // searches) and its runs with their read-backs; the face crops and the classifier's run.
    const stages = {
      read: read - started,
      detectorInput: search.prepare,
      detector: found - read - search.prepare,
      crops: ran ? reading.prepare : 0,
      classifier: ran ? reading.run : 0,
      detectorPictures: search.pictures, // areas searched in this picture
      classified: ran ? reading.classified : 0, // faces that went through the network
      classifierViews: ran ? reading.views : 0, // their views (a face, its mirror image) run
      rest: finished - classified,
    };
    return { faces, width: pixels.width, height: pixels.height, ms: finished - started, stages };
  }

  /** A face as the component gives it, from the tracker's (or a picture's) face and this frame's reading of it. */
  describe({ id, box, scores, frame }) {
    const { model } = this;
    const { features, shipped } = frame; // this frame's, unsmoothed
    const face = { id, box: box.map(Math.round), label: null, scores: {} };
    const byClass = (values) => Object.fromEntries(model.classes.map((name, index) => [name, values[index]]));
    if (scores && model) {
      face.scores = byClass(scores);
      face.label = model.classes[scores.indexOf(Math.max(...scores))];
      if (this.profile) face.profile = this.profile.name ?? true; // read with the person's profile
    }
    if (this.features && features) Object.assign(face, { features: Array.from(features), frameScores: byClass(shipped) });
    return face;
  }

  /** The largest face of a picture found all over it, read by the shipped model ({scores, features}), or null. */
  async subject(picture) {
    const pixels = await readPixels(picture, this.pictureCopy);
    const { faces } = await detectEverywhere(pixels, this.detector);
    return faces.length ? (await this.model.classify(pixels, [largest(faces)])).answers[0] : null;
  }
}
