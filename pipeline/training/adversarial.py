"""Adversarial regularisation, as Neural Structured Learning's ``AdversarialRegularization`` does it.

The loss of each training batch gets ``multiplier`` times the loss on the same faces moved one
FGSM step of ``step`` grey levels along the sign of the loss gradient (clipped to 0-255), so the
network learns to keep its answer under small changes of the pixels. The library itself cannot be
used: ``neural-structured-learning`` 1.4.0 (the newest) imports ``tensorflow.estimator``, which
TensorFlow 2.16 removed, and it is written for Keras 2's ``tf.keras``; the regulariser is a few
lines of our own training step instead.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def fgsm(model: keras.Model, faces, targets, step: float, loss=None):
    """Faces moved ``step`` grey levels along the sign of the loss gradient, clipped to 0-255.

    ``faces`` are raw 0-255 pixels [N, 48, 48, 1], ``targets`` one-hot; ``loss`` defaults to
    cross-entropy. The model runs in inference mode (batch normalisation's moving statistics).
    """
    faces = tf.convert_to_tensor(faces, tf.float32)
    loss = loss or keras.losses.CategoricalCrossentropy()
    with tf.GradientTape() as tape:
        tape.watch(faces)
        value = loss(targets, model(faces, training=False))
    return tf.clip_by_value(faces + step * tf.sign(tape.gradient(value, faces)), 0.0, 255.0)


@keras.saving.register_keras_serializable(package="mien")
class TrainingModel(keras.Model):
    """The network as it trains: a functional model whose training step may add adversarial
    regularisation (``adversarial_multiplier``, ``adversarial_step``; off when the multiplier is
    0), and that trains on several machines (pipeline.training.cluster). These settings come from the
    run's configuration each time training starts; what is saved for use is the plain network."""

    adversarial_multiplier = 0.0
    adversarial_step = 2.0

    def train_step(self, data):
        return self._per_replica(self._adversarial_step(data) if self.adversarial_multiplier else super().train_step(data))

    def test_step(self, data):
        return self._per_replica(super().test_step(data))

    def _per_replica(self, logs: dict) -> dict:
        # Keras 3.15 averages each replica's figures along their first axis under
        # MultiWorkerMirroredStrategy, which scalars lack (keras-team/keras#20585): give them one.
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _adversarial_step(self, data):
        faces, targets, weights = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            with tf.GradientTape() as face_tape:
                face_tape.watch(faces)
                scores = self(faces, training=True)
                loss = self.compute_loss(x=faces, y=targets, y_pred=scores, sample_weight=weights, training=True)
            moved = faces + self.adversarial_step * tf.sign(tf.stop_gradient(face_tape.gradient(loss, faces)))
            adversarial = tf.clip_by_value(moved, 0.0, 255.0)
            adversarial_loss = self.loss(targets, self(adversarial, training=True), sample_weight=weights)
            total = loss + self.adversarial_multiplier * adversarial_loss
        gradients = tape.gradient(self.optimizer.scale_loss(total), self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync  # losses come scaled for distribution
        loss_tracker = next(metric for metric in self.metrics if metric.name == "loss")
        loss_tracker.update_state(total * replicas, sample_weight=tf.shape(faces)[0])
        return self.compute_metrics(faces, targets, scores, sample_weight=weights)


    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15 first reduces a batch across all replicas to build the model's metrics and
        # optimizer, which MultiWorkerMirroredStrategy cannot do for a batch of several tensors
        # (keras-team/keras#20585): there, build from this worker's own share of the batch.
        if iterator is not None and isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: value.values[0] if isinstance(value, tf.distribute.DistributedValues) else value,
                    next(batches))
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def training_model(network: keras.Model, multiplier: float = 0.0, step: float = 2.0) -> TrainingModel:
    """``network`` (sharing its layers) as a TrainingModel with these adversarial settings."""
    model = TrainingModel(network.input, network.output, name=network.name)
    configure(model, multiplier, step)
    return model


def configure(model: TrainingModel, multiplier: float, step: float) -> None:
    model.adversarial_multiplier, model.adversarial_step = multiplier, step
