// Boxes and the tracker, pure modules of the page and the component, run by Node's own test runner
// (make test: node --test tests/js/*.test.mjs), as they are served: no browser needed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { largest, overlap } from '../../component/static/js/boxes.js';
import { FaceTracker } from '../../component/static/js/tracker.js';

const { smoothing } = JSON.parse(readFileSync(new URL('../../component/static/face-finder.json', import.meta.url), 'utf8'));

test('two boxes overlap by their intersection over their union', () => {
  assert.equal(overlap([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(overlap([0, 0, 10, 10], [20, 20, 10, 10]), 0);
  assert.equal(overlap([0, 0, 10, 10], [5, 0, 10, 10]), 50 / 150);
  assert.equal(overlap([0, 0, 0, 0], [0, 0, 0, 0]), 0); // empty boxes: no division by zero
});

test('the subject of a picture is its largest face, the first of equals', () => {
  const faces = [{ id: 1, box: [0, 0, 10, 20] }, { id: 2, box: [50, 0, 20, 10] }, { id: 3, box: [90, 0, 30, 30] }, { id: 4, box: [0, 90, 30, 30] }];
  assert.equal(largest(faces).id, 3);
  assert.equal(largest(faces.slice(0, 2)).id, 1);
});

test('a tracked face keeps its id and its box and scores are smoothed', () => {
  const tracker = new FaceTracker(smoothing); // face-finder.json's: 0.7 of the scores kept, 0.5 of the box
  const [first] = tracker.update([{ box: [0, 0, 100, 100], scores: [1, 0] }]);
  const [second] = tracker.update([{ box: [10, 0, 100, 100], scores: [0, 1] }]);
  assert.equal(second.id, first.id);
  assert.deepEqual(second.box, [5, 0, 100, 100]);
  assert.deepEqual(second.scores.map((score) => +score.toFixed(6)), [0.7, 0.3]);
  assert.deepEqual(second.frame.scores, [0, 1]); // this frame's face, unsmoothed
});

test('a face far from every track is a new one, and a track missed too long is dropped', () => {
  const tracker = new FaceTracker({ ...smoothing, max_missed: 1 });
  const [a] = tracker.update([{ box: [0, 0, 50, 50], scores: null }]);
  const [b] = tracker.update([{ box: [300, 300, 50, 50], scores: null }]);
  assert.notEqual(b.id, a.id);
  tracker.update([]);
  assert.deepEqual(tracker.update([{ box: [0, 0, 50, 50], scores: null }]).map((face) => face.id), [b.id + 1]);
});
