"""Recorded traces that pin the deliberate twins of Python and the browser to each other: a
camera's frames, each found and read as a stream (the live face finder, the two-view rule, the
classifier), through pipeline/faces (Python) and component/static/js/analyser.js (the component's worker).
tests/test_traces.py checks each side against the recorded trace, within the tolerances it states,
so a change to either side alone fails. The profile's fit has its own shared cases
(tests/profiles/verdicts.json).

    python -m tests.traces      # record tests/traces/stream.json again, from the Python side
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.pictures import face_frame, webcam

TRACE = Path(__file__).resolve().parent / "traces" / "stream.json"
# TF.js (WebAssembly, float16 weights) and TensorFlow do not agree bit for bit, nor do the two crops:
# boxes may differ by a pixel or two, class scores by a few thousandths.
TOLERANCE = {"box_px": 3.0, "score": 0.03}


def stream_frames() -> list[np.ndarray]:
    """A camera's 16 BGR frames of 640x480 on grey: a face 90 px wide and a small one (40 px) far
    from it, each frame with its own sensor noise, the picture sliding 1 px a frame."""
    frame = np.roll(face_frame(90), -140, axis=1)
    frame[330:460, 470:600] = face_frame(40)[175:305, 255:385]
    return webcam(frame, moving=True, count=16)


def python_trace() -> list[dict]:
    """Per frame, the faces Python's stream finds and reads (box, the shipped model's scores), and
    how many views of faces went through the network."""
    from pipeline.faces.classifier import ExpressionClassifier
    from pipeline.runs import DEFAULT_SHIPPED_MODEL

    classifier = ExpressionClassifier(DEFAULT_SHIPPED_MODEL)
    views = []
    for network, per_face in ((classifier.single_view, 1), (classifier.model, 2)):  # the whole model averages two views
        run = network.predict_on_batch
        network.predict_on_batch = lambda batch, run=run, per_face=per_face: views.append(per_face * len(batch)) or run(batch)
    finder = classifier.stream()
    trace = []
    for frame in stream_frames():
        views.clear()
        answers = classifier.answers(frame, finder)
        trace.append({"faces": [{"box": [round(float(value), 1) for value in box],
                                 "scores": dict(zip(classifier.class_names, (round(float(s), 4) for s in scores)))}
                                for box, (scores, _) in answers], "views": sum(views)})
    return trace


def compare(trace: list[dict], expected: list[dict]) -> list[str]:
    """What differs between a side's trace and the recorded one beyond TOLERANCE (nothing: [])."""
    problems = []
    for index, (got, want) in enumerate(zip(trace, expected, strict=True)):
        if got["views"] != want["views"]:
            problems.append(f"frame {index}: {got['views']} views run, recorded {want['views']}")
        if len(got["faces"]) != len(want["faces"]):
            problems.append(f"frame {index}: {len(got['faces'])} faces, recorded {len(want['faces'])}")
            continue
        # Faces in either order: each recorded one matched with the found one nearest to it.
        for face in want["faces"]:
            near = min(got["faces"], key=lambda other: np.abs(np.subtract(other["box"], face["box"])).max())
            box = np.abs(np.subtract(near["box"], face["box"])).max()
            score = max(abs(near["scores"][name] - value) for name, value in face["scores"].items())
            if box > TOLERANCE["box_px"] or score > TOLERANCE["score"]:
                problems.append(f"frame {index}: face at {face['box']} found at {near['box']} (off by {box:.1f} px), "
                                f"its scores off by {score:.4f}")
    return problems


if __name__ == "__main__":
    TRACE.parent.mkdir(exist_ok=True)
    TRACE.write_text(json.dumps({"about": "A camera's frames (tests/traces.py's stream_frames) found and read as a stream: "
                                          "per frame, each face's box and shipped scores, and the views run; recorded "
                                          "from Python, checked against both sides (tests/test_traces.py)",
                                 "tolerance": TOLERANCE, "frames": python_trace()}, indent=1) + "\n")
    print(f"recorded {TRACE}")
