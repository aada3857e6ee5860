"""A person's profile in Python: the page's personal layer (static/js/personal.js), computed the
same way, so that a profile made on the page reads faces alike here, and one made here (python -m
pipeline.personalise) works on the page.

The layer adds to the log of each class score a weighted sum of the face's features (the
network's penultimate layer, scaled to length 1) and a bias, fitted to a few of the person's faces
with a pull towards no correction at all.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.errors import UserError

PROFILE_FORMAT = "mien-profile/1"
METHOD = "logit-correction"
# As personal.js: the strength chosen on the Taiwanese pictures' people, the fit's steps and rate.
STRENGTH = 0.03
STEPS = 150
LEARNING_RATE = 0.05
FOLDS = 5


def unit(features: np.ndarray) -> np.ndarray:
    """Feature vectors scaled to length 1 (along the last axis)."""
    features = np.asarray(features, np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), 1e-12)


def personal_scores(profile: dict | None, scores: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Class scores read with ``profile`` (for one face or a batch of them)."""
    if not profile or not profile.get("correction"):
        return np.asarray(scores)
    weights, bias = np.asarray(profile["correction"]["weights"]), np.asarray(profile["correction"]["bias"])
    logits = np.log(np.maximum(np.asarray(scores, np.float64), 1e-7)) + unit(features) @ weights.T + bias
    logits -= logits.max(axis=-1, keepdims=True)
    exps = np.exp(logits)
    return exps / exps.sum(axis=-1, keepdims=True)


def fit_correction(scores: np.ndarray, features: np.ndarray, labels: np.ndarray, class_count: int,
                   strength: float = STRENGTH) -> dict:
    """The correction fitted by full-batch Adam, as personal.js fits it with TF.js."""
    inputs, log_scores = unit(features), np.log(np.maximum(np.asarray(scores, np.float64), 1e-7))
    targets = np.eye(class_count)[labels]
    weights, bias = np.zeros((inputs.shape[1], class_count)), np.zeros(class_count)
    moments = [[np.zeros_like(weights), np.zeros_like(weights)], [np.zeros_like(bias), np.zeros_like(bias)]]
    for step in range(1, STEPS + 1):
        logits = log_scores + inputs @ weights + bias
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        error = (probabilities - targets) / len(labels)
        gradients = [inputs.T @ error + 2 * strength * weights, error.sum(axis=0) + 2 * strength * bias]
        rate = LEARNING_RATE * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        for parameter, gradient, moment in zip((weights, bias), gradients, moments):
            moment[0] = 0.9 * moment[0] + 0.1 * gradient
            moment[1] = 0.999 * moment[1] + 0.001 * gradient ** 2
            parameter -= rate * moment[0] / (np.sqrt(moment[1]) + 1e-7)
    return {"weights": weights.T.tolist(), "bias": bias.tolist()}


def check_fit(scores, features, labels, class_count: int, strength: float) -> dict | None:
    """How many examples a k-fold fit reads right, against the shipped model; None where no class
    has two examples."""
    if np.bincount(labels).max() < 2:
        return None
    folds = min(FOLDS, len(labels))
    personal = shipped = 0
    for fold in range(folds):
        held = np.arange(len(labels)) % folds == fold
        correction = fit_correction(scores[~held], features[~held], labels[~held], class_count, strength)
        personal += int((personal_scores({"correction": correction}, scores[held], features[held]).argmax(axis=1)
                         == labels[held]).sum())
        shipped += int((scores[held].argmax(axis=1) == labels[held]).sum())
    return {"held_out": len(labels), "personal": personal, "shipped": shipped}


def fit_profile(model: dict, examples: dict[str, list[tuple[np.ndarray, np.ndarray]]], strength: float = STRENGTH,
                skipped: int = 0) -> dict:
    """A profile for ``model`` ({sha256, classes}) from ``examples`` ({class: [(scores, features)]}),
    as personal.js's fitProfile makes one."""
    names = [name for name, faces in examples.items() for _ in faces]
    scores = np.array([face[0] for faces in examples.values() for face in faces])
    features = np.array([face[1] for faces in examples.values() for face in faces])
    labels = np.array([model["classes"].index(name) for name in names])
    check = check_fit(scores, features, labels, len(model["classes"]), strength)
    helps = check is None or check["personal"] > check["shipped"]
    return {
        "format": PROFILE_FORMAT, "model": model, "method": METHOD,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "examples": {name: len(faces) for name, faces in examples.items()}, "skipped": skipped, "strength": strength,
        "check": check,
        "correction": fit_correction(scores, features, labels, len(model["classes"]), strength) if helps else None,
    }


def read_profile(path: Path, model: dict) -> dict:
    """The profile in ``path``, checked against ``model`` ({sha256, classes}); a UserError says
    what is wrong with it."""
    try:
        profile = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"No profile at {path}; export one from the page, or make one with python -m pipeline.personalise.") from None
    except (OSError, ValueError):
        raise UserError(f"{path} is not a readable profile (JSON); export it from the page again.") from None
    if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
        raise UserError(f"{path} is not a Mien profile ({PROFILE_FORMAT}); export one from the page.")
    if profile.get("model", {}).get("classes") != model["classes"] or profile["model"].get("sha256") != model["sha256"]:
        raise UserError(f"{path} was made for another model ({', '.join(profile.get('model', {}).get('classes', []))}); "
                        "use the model it was made for (--model), or make a profile for this one.")
    return profile
