import assert from 'node:assert/strict';
import { test } from 'node:test';

import { blockMeans, largestChange } from '../../component/static/js/pixels.js';

test('block means make a thumbnail of a square of grey levels', () => {
  const values = Float32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 100)); // left half 0, right half 100
  assert.deepEqual(Array.from(blockMeans(values, 4, 2)), [0, 100, 0, 100]);
});

test('the largest change between two thumbnails is their largest block difference', () => {
  assert.equal(largestChange([0, 10, 20], [5, 10, 0]), 20);
  assert.equal(largestChange([1, 2], [1, 2]), 0);
});
