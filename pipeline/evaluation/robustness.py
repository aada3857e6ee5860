"""How well a model holds up when faces are not clean: adversarial steps and camera corruptions.

A webcam gives noisy, blurred, dark, low-contrast, compressed and tilted faces. Each corruption
here has one fixed severity, chosen to be clearly visible on a 48x48 face yet leave the
expression readable to a person; the same faces get the same corruption every time.
"""

from __future__ import annotations

import cv2
import keras
import numpy as np

from pipeline.evaluation.metrics import score
from pipeline.model import predict, scores_only
from pipeline.training.adversarial import fgsm

FGSM_STEPS = (1, 2, 4, 8)  # grey levels of the 0-255 pixels
NOISE_SIGMA = 12.0  # grey levels
BLUR_SIGMA = 1.0  # pixels of the 48x48 face
DIM = 0.5  # low light: pixel values halved
FLATTEN = 0.5  # low contrast: distances from each face's mean halved
JPEG_QUALITY = 15
ROTATION_DEGREES = 12.0  # alternately clockwise and anticlockwise


def _noise(faces: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(faces + rng.normal(0, NOISE_SIGMA, faces.shape), 0, 255).astype(np.uint8)


def _blur(faces: np.ndarray) -> np.ndarray:
    return np.stack([cv2.GaussianBlur(face, (0, 0), BLUR_SIGMA) for face in faces])


def _dim(faces: np.ndarray) -> np.ndarray:
    return np.round(faces * DIM).astype(np.uint8)


def _flatten(faces: np.ndarray) -> np.ndarray:
    means = faces.mean(axis=(1, 2), keepdims=True)
    return np.clip(np.round(means + (faces - means) * FLATTEN), 0, 255).astype(np.uint8)


def _jpeg(faces: np.ndarray) -> np.ndarray:
    return np.stack([cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1],
                                  cv2.IMREAD_GRAYSCALE) for face in faces])


def _rotate(faces: np.ndarray) -> np.ndarray:
    size = faces.shape[1]
    rotated = []
    for index, face in enumerate(faces):
        angle = ROTATION_DEGREES if index % 2 == 0 else -ROTATION_DEGREES
        matrix = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle, 1.0)
        rotated.append(cv2.warpAffine(face, matrix, (size, size), borderMode=cv2.BORDER_REFLECT))
    return np.stack(rotated)


CORRUPTIONS = {
    "noise": (_noise, f"Gaussian noise, sigma {NOISE_SIGMA:g} grey levels"),
    "blur": (_blur, f"Gaussian blur, sigma {BLUR_SIGMA:g} px"),
    "brightness": (_dim, f"low light, pixel values x{DIM:g}"),
    "contrast": (_flatten, f"low contrast, x{FLATTEN:g} around each face's mean"),
    "jpeg": (_jpeg, f"JPEG compression, quality {JPEG_QUALITY}"),
    "rotation": (_rotate, f"rotation by {ROTATION_DEGREES:g} degrees either way"),
}


def corrupt(name: str, faces: np.ndarray) -> np.ndarray:
    """``faces`` (uint8 [N, 48, 48]) with the corruption ``name`` applied."""
    return CORRUPTIONS[name][0](faces)


def fgsm_faces(model, faces: np.ndarray, labels: np.ndarray, step: float, batch_size: int = 256) -> np.ndarray:
    """Each face moved one FGSM step of ``step`` grey levels against its true label (float32)."""
    model = scores_only(model)
    moved = []
    targets = keras.utils.to_categorical(labels, model.outputs[0].shape[-1])
    for start in range(0, len(faces), batch_size):
        batch = faces[start:start + batch_size, ..., None].astype(np.float32)
        moved.append(np.asarray(fgsm(model, batch, targets[start:start + batch_size], step))[..., 0])
    return np.concatenate(moved)


def accuracy(model, faces: np.ndarray, labels: np.ndarray, names: list[str]) -> float:
    return score(labels, predict(model, faces).argmax(axis=1), names)["accuracy"]


def fgsm_accuracy(model, faces: np.ndarray, labels: np.ndarray, steps=FGSM_STEPS) -> dict[str, float]:
    """Accuracy under FGSM of up to each strength: a face counts as right at ``step`` only if no
    single FGSM step of ``steps`` up to that size changes its answer. (One step of a given size is
    not always worse than a smaller one; the worst of them is, so the figures only fall.)"""
    right = predict(model, faces).argmax(axis=1) == labels
    results = {}
    for step in sorted(steps):
        right &= predict(model, fgsm_faces(model, faces, labels, step)).argmax(axis=1) == labels
        results[str(step)] = float(right.mean())
    return results


def measure(model, faces: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Accuracy clean, under FGSM of up to each of FGSM_STEPS, and under each corruption."""
    results = {"clean": accuracy(model, faces, labels, names), "fgsm": fgsm_accuracy(model, faces, labels)}
    for name in CORRUPTIONS:
        results[name] = accuracy(model, corrupt(name, faces), labels, names)
    return results


def format_table(results: dict) -> str:
    lines = [f"{'faces':<52}accuracy", f"{'clean':<52}{results['clean']:.4f}"]
    lines += [f"{f'FGSM, steps of up to {step} grey level(s)':<52}{value:.4f}" for step, value in results["fgsm"].items()]
    lines += [f"{description:<52}{results[name]:.4f}" for name, (_, description) in CORRUPTIONS.items()]
    return "\n".join(lines)
