"""Faces and their expressions in a picture, as the page's worker finds them: the page's face
finder, the crop the model's faces were cut with, and the expression model, all faces of a
picture in one batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import UserError
from pipeline.expressions import INPUT_SIZE
from pipeline.faces.boxes import overlap
from pipeline.faces.crop import crop_face
from pipeline.faces.finder import STILL, FaceDetector, FaceFinder, block_means, detect_everywhere, largest_change
from pipeline.faces.personal import personal_scores, read_profile
from pipeline.model import face_crop, load_model, single_view


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in picture pixels
    scores: dict[str, float]  # read with the profile in use, if any

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.get)

    @property
    def confidence(self) -> float:
        return self.scores[self.label]


@dataclass
class Timing:
    """Seconds spent finding and classifying faces, over how many pictures."""

    frames: int = 0
    detection: float = 0.0
    classification: float = 0.0

    def describe(self) -> str:
        if not self.frames:
            return ""
        return (f"{self.frames} frame(s): detection {self.frames / max(self.detection, 1e-9):.0f} fps "
                f"({1000 * self.detection / self.frames:.1f} ms), classification "
                f"{self.frames / max(self.classification, 1e-9):.0f} fps "
                f"({1000 * self.classification / self.frames:.1f} ms)")


class ExpressionClassifier:
    """A trained Mien model with the page's face finder: pictures in, faces with class scores out."""

    def __init__(self, model_path: Path, profile: Path | None = None):
        self.model, info = load_model(model_path)
        self.class_names: list[str] = info["classes"]
        # What a profile names its model by: the TF.js weights' hash the exporter records, and the classes.
        self.identity = {"sha256": info.get("weights_sha256"), "classes": self.class_names}
        self.reference = info.get("reference_log_scores")  # what a profile taught one expression is fitted against
        if profile and len(self.model.outputs) < 2:
            raise UserError(f"{model_path} gives no features to read a profile with; export it again with --keras.")
        self.profile = read_profile(profile, self.identity, self.model.outputs[1].shape[-1]) if profile else None
        self.geometry = face_crop(info)  # as the page reads it from the exported model's metadata
        self.detector = FaceDetector()
        self.timing = Timing()
        self.single_view = single_view(self.model)  # one view of a face, in a model that averages mirror images
        self.classified: list[Classified] = []  # the last frame's faces of a stream
        self.frame = 0  # frames of the stream classified so far

    def stream(self) -> FaceFinder:
        """A FaceFinder for the frames of one video or camera, which follows their faces."""
        self.classified = []
        self.frame = 0
        return FaceFinder(self.detector)

    def analyse(self, frame: np.ndarray, finder: FaceFinder | None = None) -> list[Face]:
        """All faces in a BGR or grayscale picture, best first, read with the profile in use: a
        frame of a stream with its ``finder`` (:meth:`stream`), a photo all over."""
        return [Face(tuple(round(value) for value in box),
                     dict(zip(self.class_names, map(float, personal_scores(self.profile, *answer)))))
                for box, answer in self.answers(frame, finder)]

    def answers(self, frame: np.ndarray, finder: FaceFinder | None = None) -> list[tuple]:
        """Each face's box and the shipped model's (scores, features) for it, as :meth:`analyse` finds them."""
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB if frame.ndim == 2 else cv2.COLOR_BGR2RGB)
        started = time.perf_counter()
        faces = finder.find(rgb) if finder else detect_everywhere(rgb, self.detector)
        boxes = [box for box, *_ in faces]
        detected = time.perf_counter()
        crops = [crop_face(gray, box, self.geometry, eyes) for box, _, eyes in faces]
        # A stream's frame without faces goes through too: what the next frame compares with is then nothing.
        stream = finder is not None
        answers = self.classify(np.array(crops).reshape(-1, INPUT_SIZE, INPUT_SIZE), boxes, stream) if boxes or stream else []
        self.timing.frames += 1
        self.timing.detection += detected - started
        self.timing.classification += time.perf_counter() - detected
        return list(zip(boxes, answers))

    def classify(self, crops: np.ndarray, boxes: list, stream: bool) -> list[tuple]:
        """The shipped model's (scores, features) for each crop (features None from a model without
        them). In a ``stream``, as the page does: a face whose crop has not changed since it was
        last classified keeps its answer (face-finder.json's still settings); of a face classified
        in the frame before, only the view not seen then (the crop, or its mirror image) goes
        through the network and is averaged with that frame's other view."""
        self.frame += stream
        thumbnails = [block_means(crop, STILL["crop_thumbnail"]) for crop in crops] if stream else []
        before = [next((old for old in self.classified if overlap(old.box, box) >= STILL["same_face"]), None)
                  for box in boxes] if stream else [None] * len(boxes)
        kept = [old if old is not None and largest_change(old.thumbnail, thumbnail) <= STILL["crop_change"] else None
                for old, thumbnail in zip(before, thumbnails)] if stream else before
        pending = [index for index, old in enumerate(kept) if old is None]
        answers = [old.answer if old is not None else None for old in kept]
        views = [old.views if old is not None else None for old in kept]
        if pending and stream and self.single_view is not None:
            # A face with views of the frame before: the other view alone; any other face: both.
            recent = [old if old is not None and old.views and old.frame == self.frame - 1 else None for old in before]
            wanted = [(face, view) for face in pending for view in ((recent[face].views["next"],) if recent[face] else (0, 1))]
            results = answers_of(self.single_view.predict_on_batch(
                np.stack([crops[face][:, ::-1] if view else crops[face] for face, view in wanted])[..., None].astype(np.float32)))
            for face in pending:
                views[face] = dict(recent[face].views) if recent[face] else {}
            for (face, view), result in zip(wanted, results):
                views[face][view], views[face]["next"] = result, 1 - view
            for face in pending:
                answers[face] = tuple(None if a is None else (a + b) / 2 for a, b in zip(views[face][0], views[face][1]))
        elif pending:
            results = answers_of(self.model.predict_on_batch(crops[pending][..., None].astype(np.float32)))
            for index, result in zip(pending, results):
                answers[index] = result
        if stream:
            self.classified = [Classified(box, answer, old.thumbnail if old is not None else thumbnail, view,
                                          old.frame if old is not None else self.frame)
                               for box, answer, old, thumbnail, view in zip(boxes, answers, kept, thumbnails, views)]
        return answers


@dataclass
class Classified:
    """A face of a stream's last frame: its box, answer, crop thumbnail when the answer was
    computed, its views (0 the crop, 1 its mirror image; "next" the one to compute next) and the
    frame they were computed in."""

    box: tuple
    answer: tuple
    thumbnail: np.ndarray
    views: dict | None
    frame: int


def answers_of(outputs) -> list[tuple]:
    """(scores, features) per face from a model's batch outputs (features None without them)."""
    scores, features = outputs if isinstance(outputs, (list, tuple)) else (outputs, [None] * len(outputs))
    return [(np.asarray(row), None if feature is None else np.asarray(feature)) for row, feature in zip(scores, features)]
