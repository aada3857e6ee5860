"""A person's profile in Python: the page's personal layer (component/static/js/personal.js), computed the
same way, so that a profile made on the page reads faces alike here, and one made here (python -m
pipeline.personalise) works on the page.

Taught two or more expressions, the layer adds to the log of each class score a weighted sum of
the face's features (the network's penultimate layer, scaled to length 1) and a bias, fitted to
the person's faces with a pull towards no correction at all. Taught one expression (a neutral face,
say), it adds a bias alone: minus how the person's log scores for it differ from what the model
gives, on average, the validation faces of that class (the exported model's reference_log_scores).

Every profile is checked before it is used, and its ``verdict`` says how (see ``verdict``): a
profile the check does not pass holds no correction, so it keeps the shipped model, and says what
to teach it.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.errors import UserError

PROFILE_FORMAT = "mien-profile/1"
# How a profile is fitted, here and by personal.js, which reads these from the exported model's
# metadata.json ("personal"): the pull towards no correction (chosen on the Taiwanese pictures'
# people with python -m bench personal, never on the person it is fitted for), the full-batch Adam
# steps and rate, at most how many folds check a fit, and how far (in log score, for any class) an
# offset from one expression may move the scores (beyond it, one face cannot tell the person's
# lasting look from the moment's; chosen with python -m bench personal, see the model card).
SETTINGS = {"strength": 0.01, "steps": 150, "learning_rate": 0.05, "folds": 5, "offset_limit": 1.0}
STRENGTH = SETTINGS["strength"]
# What is said of a profile whose numbers or fields are not what the model needs (as personal.js says it).
DAMAGED = "This profile is damaged (its correction does not fit the model); make it again."


def unit(features: np.ndarray) -> np.ndarray:
    """Feature vectors scaled to length 1 (along the last axis)."""
    features = np.asarray(features, np.float64)
    return features / np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), 1e-12)


def personal_scores(profile: dict | None, scores: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Class scores read with ``profile`` (for one face or a batch of them)."""
    if not profile or not profile.get("correction"):
        return np.asarray(scores)
    correction = profile["correction"]
    logits = np.log(np.maximum(np.asarray(scores, np.float64), 1e-7)) + np.asarray(correction["bias"])
    if correction.get("weights") is not None:
        logits = logits + unit(features) @ np.asarray(correction["weights"]).T
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
    for step in range(1, SETTINGS["steps"] + 1):
        logits = log_scores + inputs @ weights + bias
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        error = (probabilities - targets) / len(labels)
        gradients = [inputs.T @ error + 2 * strength * weights, error.sum(axis=0) + 2 * strength * bias]
        rate = SETTINGS["learning_rate"] * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        for parameter, gradient, moment in zip((weights, bias), gradients, moments):
            moment[0] = 0.9 * moment[0] + 0.1 * gradient
            moment[1] = 0.999 * moment[1] + 0.001 * gradient ** 2
            parameter -= rate * moment[0] / (np.sqrt(moment[1]) + 1e-7)
    return {"weights": weights.T.tolist(), "bias": bias.tolist()}


def fit_offset(scores: np.ndarray, labels: np.ndarray, classes: list[str], reference: dict | None) -> dict | None:
    """The bias alone, for examples of one class: minus how far their log scores are, on average,
    from the model's ``reference`` for that class; None without a reference for it."""
    name = classes[labels[0]]
    if not reference or name not in reference:
        return None
    offset = np.log(np.maximum(np.asarray(scores, np.float64), 1e-7)).mean(axis=0) - np.asarray(reference[name])
    return {"bias": (-offset).tolist()}


def balanced_share(labels: np.ndarray, right: np.ndarray) -> float:
    """The mean over classes of the share of each class's examples that ``right`` marks."""
    return float(np.mean([right[labels == label].mean() for label in np.unique(labels)]))


def check_fit(scores, features, labels, class_count: int, strength: float) -> dict | None:
    """The share of examples a k-fold fit reads right, against the shipped model's, each class
    weighing the same however many examples it has; None where no class has two examples."""
    if np.bincount(labels).max() < 2:
        return None
    folds = min(SETTINGS["folds"], len(labels))
    personal, shipped = np.zeros(len(labels), bool), scores.argmax(axis=1) == labels
    for fold in range(folds):
        held = np.arange(len(labels)) % folds == fold
        correction = fit_correction(scores[~held], features[~held], labels[~held], class_count, strength)
        personal[held] = personal_scores({"correction": correction}, scores[held], features[held]).argmax(axis=1) == labels[held]
    return {"held_out": len(labels), "personal": balanced_share(labels, personal), "shipped": balanced_share(labels, shipped)}


def _names(names: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def verdict(classes: list[str], scores: np.ndarray, labels: np.ndarray, check: dict | None, offset: dict | None,
            limit: float | None) -> dict:
    """Whether a profile is used, why (``reason``), the classes to teach more of (``add``) and the
    sentence that says so: the one rule for every profile, which personal.js's verdict() follows.

    Taught one expression, the offset is used if the model has a reference to fit it against and it
    moves no class's log score by more than ``limit``. Taught more, the correction is used where the
    shipped model misreads at least one taught face (else there is nothing to correct) and, where a
    class has two examples, where it reads the faces it was not fitted on (the k-fold ``check``)
    better than the shipped model; with one example of each, nothing is left to check it on, and
    it is used, saying so.
    """
    taught = sorted(set(labels.tolist()))
    others = [name for index, name in enumerate(classes) if index not in taught]
    if len(taught) == 1:
        name = classes[taught[0]]
        if offset is None or limit is None:
            return {"passed": False, "reason": "no-reference", "add": others,
                    "sentence": f"Mien keeps the shipped model: this model has no reference to compare one expression with "
                                f"(export it again with this version of Mien); teach {_names(others)} too."}
        if np.abs(offset["bias"]).max() > limit:
            return {"passed": False, "reason": "offset-too-far", "add": others,
                    "sentence": f"Mien keeps the shipped model: the {name} face taught is too far from the model's usual one "
                                f"for one expression to correct safely; teach one of {_names(others)} too."}
        return {"passed": True, "reason": "offset", "add": [],
                "sentence": f"Used: a small correction that reads your {name} face as the model's usual one."}
    misread = int((scores.argmax(axis=1) != labels).sum())
    if not misread:
        return {"passed": False, "reason": "already-right", "add": [],
                "sentence": "Mien keeps the shipped model: it already reads every face taught right, so there is nothing "
                            "to correct; teach an expression it reads wrong."}
    counts = np.bincount(labels, minlength=len(classes))
    if check is None:
        single = [classes[index] for index in taught if counts[index] == 1]
        return {"passed": True, "reason": "one-each", "add": single,
                "sentence": f"Used: the shipped model misread {misread} of the {len(labels)} faces taught. With one of "
                            f"each, none is left to check it on; teach one more of {_names(single)} to have it checked."}
    read = f"{check['personal']:.1%} of {check['held_out']} faces it was not fitted on read right with it, {check['shipped']:.1%} without"
    if check["personal"] > check["shipped"]:
        return {"passed": True, "reason": "held-out", "add": [], "sentence": f"Used: {read}."}
    fewest = min(taught, key=lambda index: counts[index])
    return {"passed": False, "reason": "no-better", "add": [classes[fewest]],
            "sentence": f"Mien keeps the shipped model: {read}; teach more of {classes[fewest]}."}


def fit_profile(model: dict, examples: dict[str, list[tuple[np.ndarray, np.ndarray]]], strength: float = STRENGTH,
                skipped: int = 0, reference: dict | None = None, limit: float | None = SETTINGS["offset_limit"]) -> dict:
    """A profile for ``model`` ({sha256, classes}) from ``examples`` ({class: [(scores, features)]}),
    as personal.js's fitProfile makes one; ``reference``: the model's reference_log_scores;
    ``limit``: its personal.offset_limit."""
    names = [name for name, faces in examples.items() for _ in faces]
    scores = np.array([face[0] for faces in examples.values() for face in faces])
    features = np.array([face[1] for faces in examples.values() for face in faces])
    labels = np.array([model["classes"].index(name) for name in names])
    if len(set(labels.tolist())) == 1:
        method, check, offset = "offset", None, fit_offset(scores, labels, model["classes"], reference)
        judged = verdict(model["classes"], scores, labels, None, offset, limit)
        correction = offset if judged["passed"] else None
    else:
        method, check = "logit-correction", check_fit(scores, features, labels, len(model["classes"]), strength)
        judged = verdict(model["classes"], scores, labels, check, None, limit)
        correction = fit_correction(scores, features, labels, len(model["classes"]), strength) if judged["passed"] else None
    return {
        "format": PROFILE_FORMAT, "model": model, "method": method,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "examples": {name: len(faces) for name, faces in examples.items()}, "skipped": skipped, "strength": strength,
        "check": check, "verdict": judged, "correction": correction,
    }


def _numbers(values, length: int | None) -> bool:
    """Whether ``values`` is a list of ``length`` (any length: None) finite numbers, as JSON gives them."""
    return (isinstance(values, list) and (length is None or len(values) == length)
            and all(type(value) in (int, float) and math.isfinite(value) for value in values))


def damaged(profile: dict, width: int | None = None) -> bool:
    """Whether the parts of a ``mien-profile/1`` profile are not of the kinds and shapes a model of
    its own classes needs: strings where strings are due, a verdict of its parts' kinds (if it has
    one), finite numbers, a bias per class and, if it has weights, a row of ``width`` (the model's features; any, if None) per class. The one
    check of a profile in Python, before any of it is used."""
    model, correction = profile.get("model"), profile.get("correction")
    if not isinstance(model, dict) or not isinstance(model.get("sha256"), str):
        return True
    classes = model.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(name, str) for name in classes):
        return True
    if any(not isinstance(profile.get(key), str) for key in ("method", "name") if profile.get(key) is not None):
        return True
    judged = profile.get("verdict")  # absent from profiles made before every profile was checked
    if judged is not None and not (isinstance(judged, dict) and isinstance(judged.get("passed"), bool)
                                   and all(isinstance(judged.get(key), str) for key in ("reason", "sentence"))
                                   and isinstance(judged.get("add"), list) and all(name in classes for name in judged["add"])):
        return True
    if correction is None:
        return False
    if not isinstance(correction, dict) or not _numbers(correction.get("bias"), len(classes)):
        return True
    weights = correction.get("weights")
    if weights is None:
        return False
    if not isinstance(weights, list) or len(weights) != len(classes) or not all(_numbers(row, width) for row in weights):
        return True
    return len({len(row) for row in weights}) != 1


def profile_problem(profile, model: dict, width: int | None = None) -> str | None:
    """Why ``profile`` cannot be used with ``model`` ({sha256, classes}) whose features have
    ``width`` numbers, in one sentence; None if it can."""
    if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
        return f"This is not a Mien profile ({PROFILE_FORMAT}); export one from the page."
    if damaged(profile, width):
        return DAMAGED
    if profile["model"]["classes"] != model["classes"] or profile["model"]["sha256"] != model["sha256"]:
        return (f"This profile was made for another model ({', '.join(profile['model']['classes'])}); use the model it "
                "was made for (--model), or make a profile for this one.")
    return None


def read_profile(path: Path, model: dict, width: int | None = None) -> dict:
    """The profile in ``path``, checked against ``model`` ({sha256, classes}, features of ``width``
    numbers); a UserError says what is wrong with it."""
    try:
        profile = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"No profile at {path}; export one from the page, or make one with python -m pipeline.personalise.") from None
    except (OSError, ValueError):
        raise UserError(f"{path} is not a readable profile (JSON); export it from the page again.") from None
    problem = profile_problem(profile, model, width)
    if problem:
        raise UserError(f"{path}: {problem}")
    return profile
