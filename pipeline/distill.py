"""Knowledge distillation: the student learns from teachers' averaged scores as well as from labels.

A teacher is a trained Keras model (a run folder or ``.keras`` file, of any size or class set) or
a table of scores for the training faces, from any model: a CSV file whose header is ``face``
and the teacher's class names (expressions), one row per face, ``face`` being
:func:`face_key` of its 48x48 pixels. ``python -m web.bench teacher-table`` writes such tables for
the browser peers' expression models.

Each teacher's classes are mapped onto the student's: a class the student merges (angry+disgust)
sums the teacher's classes it holds, classes the student lacks are dropped and the rest
renormalised. Keras teachers see each augmented batch and its mirror image and average the two.
The teachers' averaged scores, softened by the temperature, are the soft targets; the loss is
``(1 - weight) * cross-entropy(labels) + weight * T^2 * KL(soft targets || student at T)``.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.data import Split
from pipeline.errors import UserError
from pipeline.expressions import ClassSet, canonical_emotion
from pipeline.runs import resolve_model_path


def face_key(face: np.ndarray) -> str:
    """The key of a 48x48 uint8 face in a teacher table: a hash of its pixels."""
    return hashlib.blake2b(np.ascontiguousarray(face, dtype=np.uint8).tobytes(), digest_size=12).hexdigest()


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
    model: keras.Model
    mapping: np.ndarray

    def scores(self, images, picks):
        both = tf.concat([images, tf.reverse(images, axis=[2])], axis=0)  # the batch and its mirror image
        scores = self.model(both, training=False)
        half = tf.shape(images)[0]
        return (scores[:half] + scores[half:]) / 2


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
        from pipeline.model import load_model

        model, info = load_model(resolve_model_path(name))
        teacher_classes = [tuple(group) for group in info["class_members"]]
        return KerasTeacher(model, class_mapping(teacher_classes, student, name))

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


def read_table(path: Path, split: Split) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """A teacher table's classes and its scores, one row per face of ``split`` in its order."""
    try:
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = {row[0]: row[1:] for row in reader if row}
    except FileNotFoundError:
        raise UserError(f"No teacher table at {path}; check --teacher.") from None
    except (OSError, StopIteration, UnicodeDecodeError):
        raise UserError(f"{path} is not a readable teacher table (a CSV with a header); write it again.") from None
    emotions = [canonical_emotion(name) for name in header[1:]]
    if header[:1] != ["face"] or None in emotions or not emotions:
        raise UserError(f"{path} is not a teacher table: its header must be face and expression names "
                        f"(it is {','.join(header)}).")
    keys = [face_key(face) for face in split.images]
    missing = [key for key in keys if key not in rows]
    if missing:
        raise UserError(f"{path} has no scores for {len(missing)} of the {len(keys)} training faces; "
                        "write it for this data set.")
    try:
        table = np.array([rows[key] for key in keys], np.float32)
    except ValueError:
        raise UserError(f"{path} holds a score that is not a number; write it again.") from None
    return [(emotion,) for emotion in emotions], table


def write_table(path: Path, faces: np.ndarray, classes: list[str], scores: np.ndarray) -> None:
    """Write a teacher table: a row of ``scores`` per face, keyed by :func:`face_key`."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["face", *classes])
        for face, row in zip(faces, scores):
            writer.writerow([face_key(face), *(f"{value:.6f}" for value in row)])


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
