// A person's own layer over Mien's model: a correction of its class scores, fitted on the device
// from a few of that person's faces, so that their expressions are read better. A profile holds
// numbers only (the correction, and what it was fitted from), never a picture.
//
// Taught two or more expressions, the correction adds to the log of each class score a weighted
// sum of the face's features (the network's penultimate layer, scaled to length 1) and a bias:
// with no correction the scores are the shipped model's, and the fit is pulled towards none (an L2
// penalty of `strength`), so a few examples move it only as far as they agree. Taught one
// expression (a neutral face, say), it is a bias alone: minus how the person's log scores for it
// differ from what the model gives, on average, the validation faces of that class (the model's
// metadata.reference_log_scores). pipeline/faces/personal.py computes the same.

export const PROFILE_FORMAT = 'mien-profile/1';
// How a profile is fitted (the strength, the full-batch Adam steps and rate, at most how many
// folds check a fit) comes from the model's metadata.personal, which pipeline/faces/personal.py
// defines.

/** A feature vector scaled to length 1 (a plain array). */
export function unit(features) {
  const length = Math.hypot(...features) || 1;
  return Array.from(features, (value) => value / length);
}

/** The class scores of a face read with `profile` (its correction, where it has one). */
export function personalScores(profile, scores, features) {
  if (!profile?.correction) return Float32Array.from(scores);
  const { weights, bias } = profile.correction;
  const direction = weights ? unit(features) : null;
  const logits = Array.from(scores, (score, c) => Math.log(Math.max(score, 1e-7))
    + (weights ? weights[c].reduce((sum, weight, j) => sum + weight * direction[j], bias[c]) : bias[c]));
  const top = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return Float32Array.from(exps, (value) => value / total);
}

/** The correction fitted with TF.js to `examples` ([{label, scores, features}], label a class index). */
function fitCorrection(tf, examples, classCount, strength, { steps, learning_rate: rate }) {
  const width = examples[0].features.length;
  const inputs = tf.tensor2d(examples.map(({ features }) => unit(features)));
  const logScores = tf.tensor2d(examples.map(({ scores }) => Array.from(scores, (score) => Math.log(Math.max(score, 1e-7)))));
  const targets = tf.oneHot(tf.tensor1d(examples.map(({ label }) => label), 'int32'), classCount);
  const weights = tf.variable(tf.zeros([width, classCount]));
  const bias = tf.variable(tf.zeros([classCount]));
  const optimizer = tf.train.adam(rate);
  for (let step = 0; step < steps; step += 1) {
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(targets, logScores.add(inputs.matMul(weights)).add(bias))
      .add(weights.square().sum().add(bias.square().sum()).mul(strength)));
  }
  const correction = { weights: tf.transpose(weights).arraySync(), bias: bias.arraySync() };
  tf.dispose([inputs, logScores, targets, weights, bias]);
  optimizer.dispose();
  return correction;
}

/** The bias alone, for examples of one class, against the model's `reference` (null without one). */
function fitOffset(examples, classes, reference) {
  const name = classes[examples[0].label];
  if (!reference?.[name]) return null;
  const mean = reference[name].map((_, c) => examples.reduce(
    (sum, { scores }) => sum + Math.log(Math.max(scores[c], 1e-7)), 0) / examples.length);
  return { bias: mean.map((value, c) => reference[name][c] - value) };
}

const topClass = (scores) => scores.indexOf(Math.max(...scores));

/** The mean over classes of the share of each class's examples that `right` marks (each class weighing the same). */
function balancedShare(labels, right) {
  const classes = [...new Set(labels)];
  return classes.reduce((sum, label) => {
    const own = right.filter((_, index) => labels[index] === label);
    return sum + own.filter(Boolean).length / own.length;
  }, 0) / classes.length;
}

/**
 * Check a fit on examples it was not fitted on (a k-fold split): the share of them the corrected
 * scores read right, and the share the shipped ones did, each class weighing the same however many
 * examples it has (frames are collected for a time, so classes seldom have equally many). Null
 * where no class has two examples.
 */
function checkFit(tf, examples, classCount, strength, settings) {
  const labels = examples.map(({ label }) => label);
  if (labels.every((label, index) => labels.indexOf(label) === index)) return null;
  const folds = Math.min(settings.folds, examples.length);
  const personal = [];
  const shipped = examples.map(({ label, scores }) => topClass(Array.from(scores)) === label);
  for (let fold = 0; fold < folds; fold += 1) {
    const rest = examples.filter((_, index) => index % folds !== fold);
    const correction = fitCorrection(tf, rest, classCount, strength, settings);
    examples.forEach(({ label, scores, features }, index) => {
      if (index % folds === fold) personal[index] = topClass(Array.from(personalScores({ correction }, scores, features))) === label;
    });
  }
  return { held_out: examples.length, personal: balancedShare(labels, personal), shipped: balancedShare(labels, shipped) };
}

/** "a", "a and b", "a, b and c". */
const listed = (names) => (names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`);
const percent = (share) => `${(share * 100).toFixed(1)}%`;

/**
 * Whether a profile is used, why (`reason`), the classes to teach more of (`add`) and the sentence
 * that says so: the one rule for every profile, as pipeline/faces/personal.py's verdict() gives it.
 * Taught one expression, the offset is used if the model has a reference to fit it against and it
 * moves no class's log score by more than `limit` (metadata.personal.offset_limit). Taught more,
 * the correction is used where the shipped model misreads at least one taught face (else there is
 * nothing to correct) and, where a class has two examples, where it reads the faces it was not
 * fitted on (the k-fold `check`) better than the shipped model; with one example of each, nothing
 * is left to check it on, and it is used, saying so.
 */
export function verdict(classes, labelled, check, offset, limit) {
  const taught = [...new Set(labelled.map(({ label }) => label))].sort((a, b) => a - b);
  const others = classes.filter((_, index) => !taught.includes(index));
  if (taught.length === 1) {
    const name = classes[taught[0]];
    if (!offset || limit == null) {
      return { passed: false, reason: 'no-reference', add: others,
        sentence: `Mien keeps the shipped model: this model has no reference to compare one expression with (export it again with this version of Mien); teach ${listed(others)} too.` };
    }
    if (Math.max(...offset.bias.map(Math.abs)) > limit) {
      return { passed: false, reason: 'offset-too-far', add: others,
        sentence: `Mien keeps the shipped model: the ${name} face taught is too far from the model's usual one for one expression to correct safely; teach one of ${listed(others)} too.` };
    }
    return { passed: true, reason: 'offset', add: [], sentence: `Used: a small correction that reads your ${name} face as the model's usual one.` };
  }
  const misread = labelled.filter(({ label, scores }) => topClass(Array.from(scores)) !== label).length;
  if (!misread) {
    return { passed: false, reason: 'already-right', add: [],
      sentence: 'Mien keeps the shipped model: it already reads every face taught right, so there is nothing to correct; teach an expression it reads wrong.' };
  }
  const count = (index) => labelled.filter(({ label }) => label === index).length;
  if (!check) {
    const single = taught.filter((index) => count(index) === 1).map((index) => classes[index]);
    return { passed: true, reason: 'one-each', add: single,
      sentence: `Used: the shipped model misread ${misread} of the ${labelled.length} faces taught. With one of each, none is left to check it on; teach one more of ${listed(single)} to have it checked.` };
  }
  const read = `${percent(check.personal)} of ${check.held_out} faces it was not fitted on read right with it, ${percent(check.shipped)} without`;
  if (check.personal > check.shipped) return { passed: true, reason: 'held-out', add: [], sentence: `Used: ${read}.` };
  const fewest = taught.reduce((best, index) => (count(index) < count(best) ? index : best));
  return { passed: false, reason: 'no-better', add: [classes[fewest]], sentence: `Mien keeps the shipped model: ${read}; teach more of ${classes[fewest]}.` };
}

/**
 * A profile for the model whose metadata is `metadata`, from `examples` ({class: [{scores,
 * features}]}: the shipped scores and the features of that person's faces). Of one class, the
 * profile holds an offset; of more, a correction. Every profile is checked first (`verdict`): one
 * that does not pass holds no correction, so the shipped model reads the person, and says what to
 * teach it.
 */
export function fitProfile(tf, metadata, examples, { strength = metadata.personal.strength, skipped = 0 } = {}) {
  const { classes, personal: settings } = metadata;
  const labelled = Object.entries(examples).flatMap(([name, faces]) => faces.map(({ scores, features }) => ({
    label: classes.indexOf(name), scores, features,
  })));
  const oneClass = new Set(labelled.map(({ label }) => label)).size === 1;
  const check = oneClass ? null : checkFit(tf, labelled, classes.length, strength, settings);
  const offset = oneClass ? fitOffset(labelled, classes, metadata.reference_log_scores) : null;
  const judged = verdict(classes, labelled, check, offset, settings.offset_limit);
  return {
    format: PROFILE_FORMAT,
    model: { sha256: metadata.weights_sha256, classes },
    method: oneClass ? 'offset' : 'logit-correction',
    created: new Date().toISOString(),
    examples: Object.fromEntries(Object.entries(examples).map(([name, faces]) => [name, faces.length])),
    skipped,
    strength,
    check,
    verdict: judged,
    correction: !judged.passed ? null : (oneClass ? offset : fitCorrection(tf, labelled, classes.length, strength, settings)),
  };
}

/** The one sentence for a profile whose parts are not what a profile holds (pipeline/faces/personal.py's DAMAGED). */
export const DAMAGED = 'This profile is damaged (its correction does not fit the model); make it again.';

/** Whether `values` is an array (or typed array) of `length` (any length: null) finite numbers. */
export const finiteNumbers = (values, length = null) => (Array.isArray(values) || values instanceof Float32Array || values instanceof Float64Array)
  && (length === null || values.length === length) && Array.prototype.every.call(values, (value) => typeof value === 'number' && Number.isFinite(value));

/**
 * Whether the parts of a mien-profile/1 profile are not of the kinds and shapes a model of its own
 * classes needs: strings where strings are due, a verdict of its parts' kinds (if it has one), finite numbers, a bias per class and, if it has
 * weights, a row of `width` numbers (the model's features; any, if null) per class. The one check
 * of a profile's parts in the browser, as pipeline/faces/personal.py's damaged() is in Python.
 */
export function damaged(profile, width = null) {
  const { model, correction } = profile;
  if (model === null || typeof model !== 'object' || typeof model.sha256 !== 'string') return true;
  const { classes } = model;
  if (!Array.isArray(classes) || !classes.length || !classes.every((name) => typeof name === 'string')) return true;
  if (['method', 'name'].some((key) => profile[key] != null && typeof profile[key] !== 'string')) return true;
  const judged = profile.verdict; // absent from profiles made before every profile was checked
  if (judged != null && !(typeof judged === 'object' && typeof judged.passed === 'boolean'
    && ['reason', 'sentence'].every((key) => typeof judged[key] === 'string')
    && Array.isArray(judged.add) && judged.add.every((name) => classes.includes(name)))) return true;
  if (correction == null) return false;
  if (typeof correction !== 'object' || Array.isArray(correction) || !finiteNumbers(correction.bias, classes.length)) return true;
  const { weights } = correction;
  if (weights == null) return false;
  if (!Array.isArray(weights) || weights.length !== classes.length || !weights.every((row) => finiteNumbers(row, width))) return true;
  return new Set(weights.map((row) => row.length)).size !== 1;
}

/** Why `profile` cannot be used with the model whose metadata is `metadata`, or null. */
export function profileProblem(profile, metadata) {
  if (profile === null || typeof profile !== 'object' || profile.format !== PROFILE_FORMAT) {
    return 'This is not a Mien profile (mien-profile/1); give one the page exported or python -m pipeline.personalise made.';
  }
  if (damaged(profile, metadata.features?.shape?.[1] ?? null)) return DAMAGED;
  if (profile.model.sha256 !== metadata.weights_sha256 || JSON.stringify(profile.model.classes) !== JSON.stringify(metadata.classes)) {
    return `This profile was made for another model (${profile.model.classes.join(', ')}); make one for this model, or choose the model it was made for.`;
  }
  return null;
}
