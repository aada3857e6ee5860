"""MediaPipe's BlazeFace, and how the page searches a picture with it, in Python.

The page (``component/static/js/detector.js``) and this module are one design in two languages, with the
same names: :class:`FaceDetector` shrinks a picture (or an area of it) into the detector's square
input, runs it and decodes the anchors; :class:`FaceFinder` follows the faces of a camera or video
frame after frame; :func:`detect_everywhere` searches a photo down to small faces. Every number
they use (the detector's file and anchors, thresholds, tiles, the follow area and the tile-trust
rule) comes from ``component/static/face-finder.json``, which both read.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from facts import FINDER, vendored_file
from pipeline.faces.boxes import largest, overlap
from pipeline.faces.graph import GraphModel

LIVE, PHOTO, TRUST, STILL = FINDER["live"], FINDER["photo"], FINDER["tile_trust"], FINDER["still"]


def anchor_centres(detector: dict, rows: int, columns: int) -> np.ndarray:
    """Anchor centres in input pixels for an input ``rows`` x ``columns``, grid after grid, row by
    row, as the detector lays them out."""
    centres = []
    for grid in detector["anchors"]:
        stride = grid["stride"]
        for row in range(math.ceil(rows / stride)):
            for column in range(math.ceil(columns / stride)):
                centres += [(stride * column + stride / 2, stride * row + stride / 2)] * grid["per_cell"]
    return np.array(centres, np.float32)


def strongest(candidates: list[tuple], max_faces: int) -> list[tuple]:
    """The best-scoring faces (box, score, eyes), none overlapping a better one (non-maximum suppression)."""
    kept = []
    for face in sorted(candidates, key=lambda face: -face[1]):
        if len(kept) == max_faces:
            break
        if all(overlap(face[0], other[0]) < FINDER["iou_threshold"] for other in kept):
            kept.append(face)
    return kept


class Search(NamedTuple):
    """One search of a picture: an area of it (None: all of it), and what counts as a face there."""

    area: tuple | None = None
    min_score: float = FINDER["min_score"]
    max_faces: int = FINDER["max_faces"]


class FaceDetector:
    """The page's BlazeFace (``detector``: a detector entry of face-finder.json, by default the
    page's): faces in RGB pictures, each a box (x, y, width, height), a score and its two eyes
    ((x, y), (x, y), the eye on the picture's left first)."""

    def __init__(self, detector: dict = FINDER["detector"]):
        self.spec = detector
        self.model = GraphModel(vendored_file("face-detector", detector["file"]))  # runs inputs of any height and width
        self.input_size = self.model.input_size
        self.grids: dict[tuple, np.ndarray] = {}  # anchor centres by input shape

    def anchors(self, rows: int, columns: int | None = None) -> np.ndarray:
        """The anchor centres of an input ``rows`` x ``columns`` (square by default)."""
        key = (rows, rows if columns is None else columns)
        if key not in self.grids:
            self.grids[key] = anchor_centres(self.spec, *key)
        return self.grids[key]

    def detect(self, rgb: np.ndarray, area=None, min_score: float = FINDER["min_score"],
               max_faces: int = FINDER["max_faces"]) -> list[tuple]:
        """Faces in ``rgb`` (uint8 [H, W, 3]), or in its ``area`` (left, top, width, height):
        [(box, score, eyes)] in picture pixels, best first."""
        return self.detect_all(rgb, [Search(area, min_score, max_faces)])[0]

    def detect_all(self, rgb: np.ndarray, searches: list[Search], size: int | None = None) -> list[list[tuple]]:
        """Several searches of one picture in one inference, as the page batches them (squares of
        ``size`` input pixels, by default the detector's own side): detect's answer for each (none,
        and no run, for no search)."""
        if not searches:
            return []
        size = size or self.input_size
        low, high = self.spec["input_range"]
        batch = np.full((len(searches), size, size, 3), (low + high) / 2, np.float32)  # mid-grey around each area
        scales = []
        for index, search in enumerate(searches):
            left, top, width, height = search.area or (0, 0, rgb.shape[1], rgb.shape[0])
            scale = size / max(width, height)
            columns, rows = round(width * scale), round(height * scale)
            region = rgb[round(top):round(top + height), round(left):round(left + width)]
            shrunk = cv2.resize(region, (columns, rows), interpolation=cv2.INTER_AREA)  # as the page resamples
            batch[index, :rows, :columns] = low + shrunk.astype(np.float32) * (high - low) / 255
            scales.append(scale)
        outputs = np.asarray(self.model.run(batch)).reshape(len(searches), -1, self.spec["values_per_anchor"])
        anchors = self.anchors(size)
        return [strongest(self.decode(output, anchors, scale, search.area, search.min_score), search.max_faces)
                for output, scale, search in zip(outputs, scales, searches)]

    def detect_scaled(self, rgb: np.ndarray, side: int, min_score: float = FINDER["min_score"],
                      max_faces: int = FINDER["max_faces"], tile: bool = False) -> list[tuple]:
        """Faces in the whole picture shrunk so that its longer side is ``side`` input pixels (never
        enlarged): one inference of the picture's own shape. ``tile``: only faces tile_trust trusts a
        square input with (as a tile of the picture shrunk into it). Like detect's answer."""
        height, width = rgb.shape[:2]
        low, high = self.spec["input_range"]
        scale = min(1.0, side / max(width, height))
        columns, rows = round(width * scale), round(height * scale)
        shrunk = cv2.resize(rgb, (columns, rows), interpolation=cv2.INTER_AREA)  # as the page resamples
        output = np.asarray(self.model.run(low + shrunk[None].astype(np.float32) * (high - low) / 255))
        faces = self.decode(output.reshape(-1, self.spec["values_per_anchor"]), self.anchors(rows, columns), scale, None, min_score)
        return strongest([face for face in faces if not tile or trusted_in_tile(face[0], self.input_size / scale)], max_faces)

    def decode(self, output: np.ndarray, anchors: np.ndarray, scale: float, area, min_score: float) -> list[tuple]:
        """The faces one picture's rows of the output name, for its ``anchors``: [(box, score, eyes)] above ``min_score``."""
        left, top = area[:2] if area else (0, 0)
        keep = output[:, 0] >= math.log(min_score / (1 - min_score))
        faces = []
        for row, (anchor_x, anchor_y) in zip(output[keep], anchors[keep]):
            box_width, box_height = row[3] / scale, row[4] / scale
            centre_x, centre_y = left + (anchor_x + row[1]) / scale, top + (anchor_y + row[2]) / scale
            eyes = tuple((left + (anchor_x + row[at]) / scale, top + (anchor_y + row[at + 1]) / scale) for at in self.spec["eyes"])
            faces.append(((centre_x - box_width / 2, centre_y - box_height / 2, box_width, box_height),
                          float(1 / (1 + math.exp(-row[0]))), eyes))
        return faces


def tile_starts(length: int, side: int, step: float) -> list[int]:
    """Where tiles of ``side`` start along a ``length``, at most ``step`` apart, the last one at its end."""
    count = max(1, math.ceil((length - side) / step) + 1)
    return [0] if count == 1 else [round(index * (length - side) / (count - 1)) for index in range(count)]


def trusted_in_tile(box, side: float) -> bool:
    """Whether a tile of ``side`` is trusted with a face as wide as ``box`` (face-finder.json's tile_trust)."""
    return TRUST["min"] * side <= box[2] <= TRUST["max"] * side


def detect_everywhere(rgb: np.ndarray, detector: FaceDetector) -> list[tuple]:
    """Every face of a photo, as the page searches one: the detector over the whole picture seen
    at its input size, then over the whole picture at finer scales (face-finder.json's photo
    passes: its longer side so many input pixels), each face thus seen large enough at one of
    them. [(box, score, eyes)] like FaceDetector.detect."""
    faces = detector.detect(rgb, max_faces=PHOTO["max_faces"])
    longer = max(rgb.shape[:2])
    for side in dict.fromkeys(min(side, longer) for side in PHOTO["passes"]):
        if side > detector.input_size:
            faces += detector.detect_scaled(rgb, side, PHOTO["face_score"], PHOTO["max_faces"], tile=True)
    return strongest(faces, PHOTO["max_faces"])


def largest_face(faces: list[tuple]) -> tuple:
    """The face of a photo taken as its subject: the largest box of ``faces`` [(box, ...)]."""
    return largest(faces)


def gray_thumbnail(rgb: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """A picture shrunk to ``columns`` x ``rows`` grey values (0-255), as pixels.js's grayThumbnail."""
    gray = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return cv2.resize(gray, (columns, rows), interpolation=cv2.INTER_AREA)


def block_means(square: np.ndarray, blocks: int) -> np.ndarray:
    """Block means of a square grey picture (a face crop), ``blocks`` x ``blocks``."""
    step = square.shape[0] // blocks
    return square.astype(np.float32).reshape(blocks, step, blocks, step).mean(axis=(1, 3))


def largest_change(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference between two thumbnails' blocks (grey levels)."""
    return float(np.abs(a - b).max())


class FaceFinder:
    """The faces of a stream, frame after frame, small and distant ones included, as the live page
    finds them: each frame, the detector over the whole frame, over an area around each small face
    already found (seen large there: found again reliably), and over one tile of a sweep, where a
    new small face is seen large enough to be found; where the picture has not changed since the
    faces were last searched for, the faces found then are kept, and the sweep passes over tiles in
    which nothing changed outside the followed faces' areas since it last searched them."""

    def __init__(self, detector: FaceDetector):
        self.detector = detector
        self.reset()

    def reset(self) -> None:
        self.followed: list[tuple] = []
        self.sweep = 0
        self.swept: list[np.ndarray | None] = []  # for each tile of the sweep, the thumbnail of the picture it was last searched in
        self.kept: list[tuple] = []  # the faces found at the last full search
        self.reference: np.ndarray | None = None  # the thumbnail of the picture they were found in

    @staticmethod
    def tiles(width: int, height: int) -> list[tuple]:
        """The tiles a sweep goes over: squares of a share of the picture's shorter side, which
        overlap by more than a small face, so that each small face is whole in one of them."""
        short = min(width, height)
        side = round(short * LIVE["sweep_tile"])
        step = side - LIVE["sweep_overlap"] * short
        return [(left, top, min(side, width), min(side, height))
                for top in tile_starts(height, side, step) for left in tile_starts(width, side, step)]

    def find(self, rgb: np.ndarray) -> list[tuple]:
        """The faces in this frame (uint8 RGB): [(box, score, eyes)] in picture pixels, best first. The
        whole picture, the areas around followed faces and the sweep's tile in one inference; less
        where less changed since the faces were last searched for, as the page does."""
        height, width = rgb.shape[:2]
        columns, rows = STILL["frame_thumbnail"]
        thumbnail = gray_thumbnail(rgb, columns, rows)
        areas = []
        for box, *_ in self.followed:
            side = min(LIVE["follow_area"] * max(box[2], box[3]), width, height)
            left = min(max(0, box[0] + box[2] / 2 - side / 2), width - side)
            top = min(max(0, box[1] + box[3] / 2 - side / 2), height - side)
            areas.append((left, top, side, side))

        def inside(point, area) -> bool:
            return area[0] <= point[0] < area[0] + area[2] and area[1] <= point[1] < area[1] + area[3]

        def changed_since(before: np.ndarray) -> list[tuple]:
            """Where the picture changed since ``before``: the centres of the thumbnail's blocks that did, in picture pixels."""
            return [((2 * column + 1) * width / (2 * columns), (2 * row + 1) * height / (2 * rows))
                    for row, column in zip(*np.nonzero(np.abs(thumbnail - before) > STILL["frame_change"]))]

        def unfollowed(point) -> bool:
            return not any(inside(point, area) for area in areas)

        changes = None if self.reference is None else changed_since(self.reference)
        whole = changes is None or any(unfollowed(point) for point in changes)
        around = areas if changes is None or changes else []
        # The sweep's next tile that has not been searched, or changed outside the followed areas since it was.
        tiles = self.tiles(width, height)
        if len(self.swept) != len(tiles):
            self.swept = [None] * len(tiles)
        due = next((index for index in ((self.sweep + k) % len(tiles) for k in range(len(tiles)))
                    if self.swept[index] is None or any(unfollowed(point) and inside(point, tiles[index])
                                                        for point in changed_since(self.swept[index]))), None)
        tile = None if due is None else tiles[due]
        if tile:
            self.swept[due] = thumbnail
            self.sweep = due + 1
        searches = [*([Search()] if whole else []), *(Search(area, max_faces=1) for area in around),
                    *([Search(tile, LIVE["new_face_score"])] if tile else [])]
        # Followed faces alone (a person moving a little): seen at a smaller input, found again as surely.
        found = self.detector.detect_all(rgb, searches, self.detector.input_size if whole or tile else LIVE["follow_input"])
        # A face new in a tile must be a clear one: once followed, it is seen large and found again
        # with ease, and so would a false one be.
        in_tile = [face for face in found.pop() if trusted_in_tile(face[0], tile[2])] if tile else []
        # Faces not searched for again in this frame are kept as they were found: all of them where
        # nothing changed, those not followed where only followed faces' areas changed.
        unsearched = [] if whole else [face for face in self.kept if not around or face not in self.followed]
        kept = strongest([*(face for faces in found for face in faces), *unsearched, *in_tile], FINDER["max_faces"])
        fresh = any(all(overlap(old[0], face[0]) < FINDER["iou_threshold"] for old in self.kept) for face in kept)
        # A new face is searched for again in full at the next frame: followed, and seen large.
        self.reference = None if fresh else (thumbnail if whole or around else self.reference)
        self.kept = kept
        self.followed = [face for face in kept if face[0][2] < LIVE["follow_below"] * height]
        return kept
