"""The training recipe: everything that decides what a run computes, with the defaults that
produced the shipped models. Saved as each run's ``config.json``."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.architecture import NETWORK
from pipeline.data import DEFAULT_DATA
from pipeline.expressions import DEFAULT_CLASSES
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")  # where a run trains: pipeline.training.cluster


@dataclass
class TrainConfig:
    """Everything that decides what a run computes; saved as the run's ``config.json``."""

    classes: str = DEFAULT_CLASSES
    data: str = str(DEFAULT_DATA)
    extra_data: str | None = None  # comma-separated sources whose faces (all splits) join the training faces
    epochs: int = 60
    width: float = NETWORK.width  # the network's own defaults (pipeline/architecture.py)
    activation: str = NETWORK.activation
    dropout: float = NETWORK.dropout
    l2: float = NETWORK.l2
    head_units: int = NETWORK.head_units
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_epochs: int = 2
    label_smoothing: float = 0.1
    class_weights: bool = True
    augment: bool = True
    erase: float = 0.0
    mixup: float = 0.0
    patience: int = 30
    seed: int = 13
    init_from: str | None = None
    teacher: str | None = None  # comma-separated models or score tables to distil from
    distill_temperature: float = 4.0
    distill_weight: float = 0.7  # share of the loss given to the teachers' soft targets
    adversarial: float = 0.0  # weight of the loss on adversarially moved faces (0: off)
    adv_step: float = 2.0  # grey levels (of 0-255) of that move
    strategy: str = "auto"  # where it trains: pipeline.training.cluster.STRATEGIES
    mixed_precision: bool = False  # float16 compute on GPUs, float32 variables
