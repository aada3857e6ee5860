"""Training batches: shuffled, augmented faces with their targets and loss weights.

Each epoch's order and every batch's augmentation are drawn from stateless seeds derived from the
run's seed, the epoch and the batch's place in it, and from nothing else. So a run resumed at
epoch N sees exactly the batches an uninterrupted run would have seen at epoch N, whatever ran
before in the process and however many threads prepare batches.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from pipeline.data import Split
from pipeline.errors import UserError
from pipeline.training.config import TrainConfig

fold_in = tf.random.experimental.stateless_fold_in


def augmenter(seed: int) -> keras.Sequential:
    """Random flips, small rotations, zooms and shifts, brightness and contrast: Keras layers."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.04, fill_mode="reflect", seed=seed + 1),  # about +-15 degrees
            layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2),
            layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed + 3),
            layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed + 4),
            layers.RandomContrast(0.3, seed=seed + 5),
        ],
        name="augment",
    )


class StatelessSeed(keras.random.SeedGenerator):
    """What Keras' random layers draw their randomness from, here fixed by one stateless seed.

    Keras' own SeedGenerator keeps a running state; this one has none (its ``__init__`` creates no
    variable): its n-th draw is ``fold_in(seed, n)``, so a layer's draws depend on ``seed`` only.
    """

    def __init__(self, seed):  # noqa: the parent's state variable is exactly what is not wanted
        self.seed_tensor = seed
        self.draws = 0

    def next(self, ordered=True):
        self.draws += 1
        return fold_in(self.seed_tensor, self.draws)


def augment(augmentation: keras.Sequential, images, seed):
    """Apply each layer of ``augmentation`` to a batch, its randomness drawn from ``seed`` ([2] ints)."""
    for index, layer in enumerate(augmentation.layers):
        transformation = layer.get_random_transformation(images, training=True, seed=StatelessSeed(fold_in(seed, index)))
        images = layer.transform_images(images, transformation, training=True)
    return images


def random_erase(images, chance: float, seed, min_side: float = 0.15, max_side: float = 0.5):
    """Random erasing: with probability ``chance``, a rectangle of each face (each side 15-50%
    of the face's) is replaced by uniform noise, so no single region can decide the class."""
    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    draw = (lambda n, shape, low=0.0, high=1.0: tf.random.stateless_uniform(shape, fold_in(seed, n), low, high))

    def span(size, n):  # a random [start, end) per face along an axis of ``size`` pixels, shaped to broadcast
        size = tf.cast(size, tf.float32)
        length = draw(n, [batch], min_side, max_side) * size
        start = draw(n + 1, [batch]) * (size - length)
        return start[:, None], (start + length)[:, None]

    rows, columns = tf.range(tf.cast(height, tf.float32))[None], tf.range(tf.cast(width, tf.float32))[None]
    (top, bottom), (left, right) = span(height, 0), span(width, 2)
    inside_rows = (rows >= top) & (rows < bottom)
    inside_columns = (columns >= left) & (columns < right)
    chosen = draw(4, [batch]) < chance
    mask = inside_rows[:, :, None] & inside_columns[:, None, :] & chosen[:, None, None]
    return tf.where(mask[..., None], draw(5, tf.shape(images), 0.0, 255.0), images)


def mixup(alpha: float, images, targets, weights, seed):
    """Mixup: each face is blended with another face of the batch, and so are its one-hot
    target and loss weight, with a share drawn from Beta(alpha, alpha) per face."""
    batch = tf.shape(images)[0]
    first = tf.random.stateless_gamma([batch], fold_in(seed, 0), alpha)
    second = tf.random.stateless_gamma([batch], fold_in(seed, 1), alpha)
    share = first / (first + second)
    partner = tf.argsort(tf.random.stateless_uniform([batch], fold_in(seed, 2)))

    def blend(values):
        keep = tf.reshape(share, [-1] + [1] * (len(values.shape) - 1))
        return keep * values + (1 - keep) * tf.gather(values, partner)

    return blend(images), blend(targets), blend(weights)


def class_weights(split: Split) -> np.ndarray:
    """A loss weight per class, inversely proportional to its number of training faces."""
    class_count = len(split.class_names)
    counts = np.bincount(split.labels, minlength=class_count)
    return len(split.labels) / (class_count * np.maximum(counts, 1))


def steps_per_epoch(split: Split, config: TrainConfig, cluster=None) -> int:
    """Training steps per epoch: every face once, in batches of ``config.batch_size`` per replica
    of ``cluster`` (a pipeline.training.cluster.Cluster; one device when None). Replicas share
    whole batches only, so fewer faces than one global batch is a UserError that says what to do."""
    count = len(split.labels)
    if cluster is None or cluster.replicas == 1:
        return -(-count // config.batch_size)
    local_replicas = cluster.replicas // cluster.workers
    steps = (count // cluster.workers) // (config.batch_size * local_replicas)
    if steps == 0:
        raise UserError(f"{count} training faces do not fill one batch of {config.batch_size} for each of the "
                        f"{cluster.replicas} replicas ({config.batch_size * cluster.replicas} faces); use --batch-size "
                        f"{max(1, count // cluster.replicas)} or less, or more data.")
    return steps


def cluster_batches(split: Split, config: TrainConfig, cluster, first_epoch: int = 0, teachers=None):
    """:func:`training_batches` spread over the replicas of ``cluster``: each worker prepares
    its own share of every epoch, one batch of ``config.batch_size`` per local replica and step."""
    if cluster.replicas == 1:
        return training_batches(split, config, first_epoch, teachers)
    steps = steps_per_epoch(split, config, cluster)

    def worker_batches(context: tf.distribute.InputContext):
        local_replicas = context.num_replicas_in_sync // context.num_input_pipelines
        shard = (context.input_pipeline_id, context.num_input_pipelines, steps * local_replicas)
        return training_batches(split, config, first_epoch, teachers, shard)

    return cluster.strategy.distribute_datasets_from_function(worker_batches)


def training_batches(split: Split, config: TrainConfig, first_epoch: int = 0, teachers=None,
                     shard: tuple[int, int, int] | None = None) -> tf.data.Dataset:
    """Batches of (pixels, target, weight) for epochs ``first_epoch`` to ``config.epochs``, one
    after the other (``steps_per_epoch`` batches each), each a function of (seed, epoch, batch).

    The target is the one-hot label, followed, with ``teachers`` (pipeline.training.distill.Teachers), by
    their soft targets for the same augmented faces. ``shard`` (worker, workers, batches per
    epoch) gives one worker of a cluster its own faces of each epoch's order, in that many
    batches of ``config.batch_size`` (one replica's share)."""
    count, class_count = len(split.labels), len(split.class_names)
    images = tf.constant(split.images[..., None])
    labels = tf.constant(split.labels, tf.int32)
    weight_table = tf.constant(class_weights(split) if config.class_weights else np.ones(class_count), tf.float32)
    augmentation = augmenter(config.seed) if config.augment else None
    run_seed = tf.constant([config.seed, 0], tf.int64)

    def epoch(number):
        epoch_seed = fold_in(run_seed, number)
        order = tf.argsort(tf.random.stateless_uniform([count], epoch_seed))
        if shard is None:
            batches = tf.data.Dataset.from_tensor_slices(order).batch(config.batch_size)
        else:
            worker, workers, batches_per_epoch = shard
            epoch_seed = fold_in(epoch_seed, worker + 1)
            batches = (tf.data.Dataset.from_tensor_slices(order[worker::workers])
                       .batch(config.batch_size, drop_remainder=True).take(batches_per_epoch))
        return batches.enumerate().map(lambda index, picks: (picks, fold_in(epoch_seed, index + 1)))

    def prepare(picks, seed):
        batch = tf.cast(tf.gather(images, picks), tf.float32)
        if augmentation is not None:
            batch = tf.clip_by_value(augment(augmentation, batch, fold_in(seed, 0)), 0.0, 255.0)
        if config.erase > 0:
            batch = random_erase(batch, config.erase, fold_in(seed, 1))
        batch_labels = tf.gather(labels, picks)
        targets, weights = tf.one_hot(batch_labels, class_count), tf.gather(weight_table, batch_labels)
        if teachers is not None:
            targets = tf.concat([targets, teachers.soft_targets(batch, picks, config.distill_temperature)], axis=1)
        if config.mixup > 0:
            batch, targets, weights = mixup(config.mixup, batch, targets, weights, fold_in(seed, 2))
        return batch, targets, weights

    epochs = tf.data.Dataset.range(first_epoch, config.epochs).flat_map(epoch)
    return epochs.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
