"""The network's shape and its defaults, for pipeline/model.py, which builds it. Kept apart from
model.py, which loads Keras, so that the training recipe (training/config.py) takes its defaults
from here and ``python -m pipeline.train --help`` answers without loading TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass

# VGG11 ("configuration A"): conv filters per stage; each stage ends in 2x2 max-pooling.
VGG11_STAGES = ((64,), (128,), (256, 256), (512, 512), (512, 512))
ACTIVATIONS = ("relu", "elu")


@dataclass(frozen=True)
class Network:
    """How wide and how regularised the network is: the shipped models' values."""

    width: float = 0.3125  # times VGG11's filter counts: 20 ... 160
    activation: str = "relu"
    dropout: float = 0.3
    l2: float = 5e-5
    head_units: int = 256


NETWORK = Network()
