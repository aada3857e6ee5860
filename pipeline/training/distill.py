"""Knowledge distillation: the student learns from teachers' averaged scores as well as from labels.

A teacher is a trained Keras model (a run folder or ``.keras`` file, of any size or class set) or
a table of scores for the training faces, from any model (pipeline.training.tables).

Each teacher's classes are mapped onto the student's: a class the student merges (angry+disgust)
sums the teacher's classes it holds, classes the student lacks are dropped and the rest
renormalised. Keras teachers see each augmented batch and its mirror image and average the two.
The teachers' averaged scores, softened by the temperature, are the soft targets; the loss is
``(1 - weight) * cross-entropy(labels) + weight * T^2 * KL(soft targets || student at T)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.data import Split
from pipeline.errors import UserError
from pipeline.expressions import ClassSet
from pipeline.model import bare_network, load_model, with_flip_average
from pipeline.runs import resolve_model_path
from pipeline.training.tables import read_table


def class_mapping(teacher: list[tuple[str, ...]], student: ClassSet, name: str) -> np.ndarray:
    """A 0/1 matrix [teacher classes, student classes]: which student class each teacher class feeds."""
    mapping = np.zeros((len(teacher), len(student)), np.float32)
    for row, group in enumerate(teacher):
        for column, members in enumerate(student.members):
            if set(group) <= set(members):
                mapping[row, column] = 1
            elif set(group) & set(members):
                raise UserError(f"Teacher {name} has a class {'+'.join(group)} that the student's classes split; "
                                "choose a teacher that keeps those expressions apart.")
    for column, members in enumerate(student.members):
        if not mapping[:, column].any():
            raise UserError(f"Teacher {name} knows nothing of the student's class {'+'.join(members)}; "
                            "choose a teacher that has it.")
    return mapping


@dataclass
class KerasTeacher:
    model: keras.Model  # averaging each face with its mirror image
    mapping: np.ndarray

    def scores(self, images, picks):
        return self.model(images, training=False)


@dataclass
class TableTeacher:
    table: np.ndarray  # [training faces, teacher classes], in the order of the training split
    mapping: np.ndarray

    def scores(self, images, picks):
        return tf.gather(self.table, picks)


class Teachers:
    """The teachers named by ``--teacher`` (comma-separated), ready to score training batches."""

    def __init__(self, spec: str, student: ClassSet, split: Split):
        self.teachers = [self._load(name.strip(), student, split) for name in spec.split(",") if name.strip()]
        if not self.teachers:
            raise UserError("--teacher names no teacher; give a run folder, a .keras file or a score table (.csv).")

    @staticmethod
    def _load(name: str, student: ClassSet, split: Split):
        if name.lower().endswith(".csv"):
            classes, table = read_table(Path(name), split)
            return TableTeacher(table, class_mapping(classes, student, name))
        model, info = load_model(resolve_model_path(name))
        teacher_classes = [tuple(group) for group in info["class_members"]]
        return KerasTeacher(with_flip_average(bare_network(model)), class_mapping(teacher_classes, student, name))

    def soft_targets(self, images, picks, temperature: float):
        """The teachers' averaged scores for a batch in the student's classes, softened by ``temperature``."""
        total = 0.0
        for teacher in self.teachers:
            scores = tf.matmul(tf.cast(teacher.scores(images, picks), tf.float32), teacher.mapping)
            total += scores / tf.maximum(tf.reduce_sum(scores, axis=1, keepdims=True), 1e-8)
        return soften(total / len(self.teachers), temperature)


def soften(probabilities, temperature: float):
    """Probabilities at a temperature: p^(1/T), renormalised (a softmax of the logits over T)."""
    return tf.nn.softmax(tf.math.log(tf.maximum(probabilities, 1e-8)) / temperature, axis=-1)


@keras.saving.register_keras_serializable(package="mien")
class DistillationLoss(keras.losses.Loss):
    """Cross-entropy with the labels, blended with the teachers' soft targets when a batch has them.

    ``y_true`` is the one-hot label [B, C], or the label followed by the soft targets [B, 2C];
    ``y_pred`` the student's probabilities, whose logits (up to a constant) are their logarithm.
    """

    def __init__(self, label_smoothing=0.0, temperature=4.0, weight=0.0, name="distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing, self.temperature, self.weight = label_smoothing, temperature, weight

    def call(self, y_true, y_pred):
        classes = y_pred.shape[-1]
        loss = keras.losses.categorical_crossentropy(y_true[:, :classes], y_pred, label_smoothing=self.label_smoothing)
        if y_true.shape[-1] == 2 * classes:
            soft = y_true[:, classes:]
            student = tf.nn.log_softmax(tf.math.log(tf.maximum(y_pred, 1e-8)) / self.temperature, axis=-1)
            divergence = tf.reduce_sum(soft * (tf.math.log(tf.maximum(soft, 1e-8)) - student), axis=-1)
            loss = (1 - self.weight) * loss + self.weight * self.temperature ** 2 * divergence
        return loss

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "temperature": self.temperature, "weight": self.weight}


@keras.saving.register_keras_serializable(package="mien")
def label_accuracy(y_true, y_pred):
    """Accuracy against the label, whether or not soft targets follow it in ``y_true``."""
    classes = y_pred.shape[-1]
    return keras.metrics.categorical_accuracy(y_true[:, :classes], y_pred)
