import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { DAMAGED, fitProfile, personalScores, profileProblem, unit } from '../../component/static/js/personal.js';

const fixtures = new URL('../profiles/', import.meta.url);
const read = (name) => JSON.parse(readFileSync(new URL(name, fixtures), 'utf8'));

test('features are scaled to length 1', () => {
  assert.deepEqual(unit([3, 4]), [0.6, 0.8]);
  assert.deepEqual(unit([0, 0]), [0, 0]);
});

test('without a correction a profile gives the shipped scores; a bias moves them as a log offset', () => {
  assert.deepEqual(Array.from(personalScores(null, [0.25, 0.75], [1, 0])), [0.25, 0.75]);
  const shifted = personalScores({ correction: { bias: [Math.log(3), 0] } }, [0.25, 0.75], [1, 0]);
  assert.deepEqual(Array.from(shifted, (score) => +score.toFixed(6)), [0.5, 0.5]);
});

test('the shared profile files: the good one is taken, each bad one refused as damaged', () => {
  const model = read('model.json');
  assert.equal(profileProblem(read('good.json'), model), null);
  for (const name of readdirSync(new URL('bad/', fixtures))) assert.equal(profileProblem(read(`bad/${name}`), model), DAMAGED, name);
});

test('every profile gets the shared verdict (tests/profiles/verdicts.json, as Python gives it); one refused keeps the shipped model', async () => {
  await tf.setBackend('cpu');
  const model = read('model.json');
  const { reference_log_scores: reference, cases } = read('verdicts.json');
  const near = (got, want, tolerance, name) => want.forEach((value, i) => assert.ok(Math.abs(got[i] - value) <= tolerance, `${name}: ${got[i]} against ${value}`));
  for (const { case: name, reference: withReference, examples, verdict, bias, correction } of cases) {
    const profile = fitProfile(tf, { ...model, reference_log_scores: withReference ? reference : undefined }, examples);
    assert.deepEqual(profile.verdict, verdict, name);
    assert.equal(profile.correction !== null, verdict.passed, name);
    assert.equal(profileProblem(profile, model), null, name);
    if (bias) near(profile.correction.bias, bias, 1e-6, name);
    if (correction) { // the fitted correction itself, as Python fits it (TF.js in float32)
      near(profile.correction.bias, correction.bias, 2e-3, name);
      correction.weights.forEach((row, c) => near(profile.correction.weights[c], row, 2e-3, name));
    }
  }
});
