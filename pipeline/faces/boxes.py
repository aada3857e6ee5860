"""Boxes are (x, y, width, height) in picture pixels (as in component/static/js/boxes.js)."""

from __future__ import annotations


def overlap(a, b) -> float:
    """Intersection over union of two boxes (x, y, width, height)."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def largest(faces, box=lambda face: face[0]):
    """The face a picture or a frame is about, its subject: the one of ``faces`` whose ``box(face)``
    is largest (first of equals). The one rule, also in component/static/js/boxes.js."""
    return max(faces, key=lambda face: box(face)[2] * box(face)[3])
