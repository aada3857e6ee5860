"""The recorded stream trace (tests/traces/stream.json) against each side: Python's face finder and
classifier, and the component's analyser in the page's worker. Either side changed alone fails."""

from __future__ import annotations

import base64
import json

import cv2

from tests.browser import analysis_worker
from tests.traces import TRACE, compare, python_trace, stream_frames

RECORDED = json.loads(TRACE.read_text())


def test_python_finds_and_reads_the_recorded_stream():
    assert compare(python_trace(), RECORDED["frames"]) == []


def test_the_components_analyser_finds_and_reads_the_recorded_stream(page):
    frames = [base64.b64encode(cv2.cvtColor(frame, cv2.COLOR_BGR2RGBA).tobytes()).decode() for frame in stream_frames()]
    trace = analysis_worker(page).evaluate("""async (frames) => {
        const { Analyser } = await import('/static/js/analyser.js');
        const { FaceDetector, loadFinder } = await import('/static/js/detector.js');
        const { ExpressionModel } = await import('/static/js/classifier.js');
        const analyser = new Analyser(await FaceDetector.load(tf, await loadFinder()), { features: true });
        analyser.useModel(await ExpressionModel.load(tf, '/models/model/'));
        analyser.watch({ smoothing: false }); // each frame's own boxes and scores, as Python gives them
        const canvas = new OffscreenCanvas(640, 480);
        const trace = [];
        for (const text of frames) {
            const rgba = Uint8ClampedArray.from(atob(text), (c) => c.charCodeAt(0));
            canvas.getContext('2d').putImageData(new ImageData(rgba, 640, 480), 0, 0);
            const { faces, stages } = await analyser.analyse(canvas, { live: true });
            trace.push({ faces: faces.map(({ box, frameScores }) => ({ box, scores: frameScores })), views: stages.classifierViews });
        }
        return trace;
    }""", frames)
    assert compare(trace, RECORDED["frames"]) == []
