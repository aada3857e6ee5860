"""Train the expression model on face-expression data.

    python -m pipeline.train --classes 4                       # new run under runs/
    python -m pipeline.train --resume --out runs/RUN            # continue an interrupted run

Everything a run produces goes into its folder: ``best.keras`` (the best epoch on validation),
``checkpoint.keras`` (the last epoch with optimizer state, for ``--resume``), ``config.json``,
``history.csv``, ``curves.png``, ``class_frequencies.png`` and ``metrics.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from pipeline.architecture import ACTIVATIONS
from pipeline.console import load_tensorflow
from pipeline.errors import UserError, reports_user_errors
from pipeline.expressions import parse_classes
from pipeline.runs import BEST_MODEL, CHECKPOINT, RUNS_DIR, RunLock, newest_run, resolve_model_path
from pipeline.training.config import STRATEGIES, TrainConfig

# This module imports TensorFlow only inside train(): --help and argument errors answer at once.


# What a run folder holds; a new run refuses a folder with any of them, so none is trained over.
RUN_FILES = (BEST_MODEL, CHECKPOINT, "config.json", "history.csv", "curves.png", "class_frequencies.png", "metrics.json")


def parse_args(argv=None):
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.train",
        description="Train Mien's expression model (a compact VGG11) on face-expression data.",
    )
    parser.add_argument("--classes", default=defaults.classes,
                        help="3, 4, 6 or 7, or a comma list such as happy,sad,surprise (angry+disgust merges) "
                        "(default: %(default)s)")
    parser.add_argument("--data", default=defaults.data,
                        help="Kaggle face-expression folder, fer2013 folder, fer2013.csv, or a .zip of one "
                        "(default: %(default)s)")
    parser.add_argument("--extra-data", metavar="FOLDER[,FOLDER...]",
                        help="more training faces: sources in any layout --data reads (such as python -m "
                        "pipeline.collect writes), all their faces added to --data's training faces; validation "
                        "stays --data's own")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="most epochs to train (default: %(default)s)")
    parser.add_argument("--width", type=float, default=defaults.width,
                        help="multiplier of VGG11's filter counts (default: %(default)s)")
    parser.add_argument("--activation", default=defaults.activation, choices=ACTIVATIONS,
                        help="activation after each convolution and in the head (default: %(default)s)")
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="dropout in the head (default: %(default)s)")
    parser.add_argument("--l2", type=float, default=defaults.l2, help="L2 weight decay on kernels (default: %(default)s)")
    parser.add_argument("--head-units", type=int, default=defaults.head_units,
                        help="units in the dense head (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="faces per training step (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help="peak learning rate of Adam, reached after warm-up, then cosine decay (default: %(default)s)")
    parser.add_argument("--warmup-epochs", type=int, default=defaults.warmup_epochs,
                        help="epochs over which the learning rate rises to its peak (default: %(default)s)")
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing,
                        help="share of each target spread over the other classes (default: %(default)s)")
    parser.add_argument("--no-class-weights", dest="class_weights", action="store_false",
                        help="do not weight the loss against class imbalance (weighted unless given)")
    parser.add_argument("--no-augment", dest="augment", action="store_false",
                        help="train without augmentation (augmented unless given)")
    parser.add_argument("--erase", type=float, default=defaults.erase, metavar="P",
                        help="chance that a training face has a random rectangle replaced by noise (default: 0, never)")
    parser.add_argument("--mixup", type=float, default=defaults.mixup, metavar="ALPHA",
                        help="blend pairs of training faces and their labels, shares drawn from Beta(ALPHA, ALPHA) "
                        "(default: 0, off)")
    parser.add_argument("--patience", type=int, default=defaults.patience,
                        help="stop after this many epochs without a better validation accuracy (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="seed of the weights, the shuffling and the augmentation (default: %(default)s)")
    parser.add_argument("--init-from", metavar="MODEL",
                        help="start from a trained model (run folder or .keras): fine-tune it on these classes "
                        "and data; its width, activation and head units are used")
    parser.add_argument("--teacher", metavar="MODEL[,MODEL...]",
                        help="distil from these teachers: run folders, .keras files or score tables (.csv) of any "
                        "size and class set; the student learns from their averaged scores as well as the labels")
    parser.add_argument("--distill-temperature", type=float, default=defaults.distill_temperature, metavar="T",
                        help="temperature that softens the teachers' and the student's scores (default: %(default)s)")
    parser.add_argument("--distill-weight", type=float, default=defaults.distill_weight, metavar="W",
                        help="share of the loss given to the teachers, the rest to the labels (default: %(default)s)")
    parser.add_argument("--adversarial", type=float, default=defaults.adversarial, metavar="MULTIPLIER",
                        help="adversarial regularisation: add MULTIPLIER times the loss on faces moved one FGSM step "
                        "(0.3 is usual; default: 0, off)")
    parser.add_argument("--adv-step", type=float, default=defaults.adv_step, metavar="EPS",
                        help="size of that step in grey levels of the 0-255 pixels (default: %(default)s)")
    parser.add_argument("--strategy", default=defaults.strategy, choices=STRATEGIES,
                        help="where to train: auto (all GPUs when there are several, else one device), default "
                        "(one device), mirrored (all local GPUs), multi-worker (the machines TF_CONFIG names); "
                        "--batch-size and --learning-rate are per replica (default: %(default)s)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="compute in float16 on GPUs, keeping float32 variables; the saved model is float32")
    parser.add_argument("--out", type=Path, help="the run folder (default: a new folder under runs/)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out (default: the newest run) from its last epoch")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own start-up messages")
    return parser.parse_args(argv)


@reports_user_errors
def main(argv=None) -> Path:
    args = parse_args(argv)
    if args.resume:
        run_dir = args.out or newest_run()
        config = read_config(run_dir)
    else:
        config = TrainConfig(**{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)})
        check_config(config)  # a bad setting fails before anything is written
        run_dir = args.out or RUNS_DIR / f"{datetime.now():%Y%m%d-%H%M%S}-{config.classes.replace(',', '-')}"
        held = [name for name in RUN_FILES if (run_dir / name).exists()]
        if held:
            raise UserError(f"{run_dir} already holds a run ({', '.join(held)}); add --resume to continue it "
                            "(from its first epoch if none had finished), or choose another --out.")
    load_tensorflow(args.verbose)
    try:
        train(config, run_dir)
    except KeyboardInterrupt:
        print(f"\nInterrupted. Continue with: python -m pipeline.train --resume --out {run_dir}", file=sys.stderr)
        sys.exit(130)
    return run_dir


def check_config(config: TrainConfig) -> None:
    """Refuse, in one sentence, a setting no run can train with."""
    parse_classes(config.classes)
    if config.epochs < 1:
        raise UserError(f"--epochs must be at least 1 (got {config.epochs}); {TrainConfig.epochs} is the default.")
    if config.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1 (got {config.batch_size}); {TrainConfig.batch_size} is the default.")
    if not 0 <= config.erase <= 1:
        raise UserError(f"--erase is a chance between 0 and 1 (got {config.erase}); 0.5 erases half the faces.")
    if config.mixup < 0:
        raise UserError(f"--mixup must be 0 (off) or positive (got {config.mixup}); 0.2 is a usual value.")
    if config.adversarial < 0 or config.adv_step <= 0:
        raise UserError(f"--adversarial must be 0 (off) or positive and --adv-step positive (got {config.adversarial} "
                        f"and {config.adv_step}); --adversarial 0.3 --adv-step 2 is a usual choice.")
    if config.distill_temperature <= 0:
        raise UserError(f"--distill-temperature must be positive (got {config.distill_temperature}); 4 is a usual value.")
    for source in listed(config.extra_data):
        if not Path(source).exists():
            raise UserError(f"No data at {source}; give --extra-data folders (or files) that exist, separated by commas.")
        extra, data = Path(source).resolve(), Path(config.data).resolve()
        if extra == data or data in extra.parents or extra in data.parents:
            raise UserError(f"--extra-data {source} {'is' if extra == data else 'overlaps'} --data {config.data}, whose "
                            "validation faces would be trained on and the epoch then chosen on them; give --extra-data "
                            "faces from elsewhere.")
    for name in listed(config.teacher):
        path = Path(name)
        if not (path / BEST_MODEL if path.is_dir() else path).is_file():
            raise UserError(f"No teacher at {path}; give --teacher run folders, .keras files or score tables (.csv), "
                            "separated by commas.")
    if not 0 <= config.distill_weight <= 1:
        raise UserError(f"--distill-weight is a share between 0 and 1 (got {config.distill_weight}); "
                        f"{TrainConfig.distill_weight} is the default.")


def listed(option: str | None) -> list[str]:
    """The names in a comma-separated option."""
    return [name.strip() for name in (option or "").split(",") if name.strip()]


def read_config(run_dir: Path) -> TrainConfig:
    try:
        saved = json.loads((run_dir / "config.json").read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir} holds no run to resume (no config.json); check --out.") from None
    except (OSError, ValueError):
        raise UserError(f"{run_dir}/config.json cannot be read; start the run again in another --out.") from None
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{key: value for key, value in saved.items() if key in known})


def train(config: TrainConfig, run_dir: Path) -> dict:
    """Train (or continue) the run in ``run_dir``; returns the final metrics (on the chief)."""
    import keras

    from pipeline.training.cluster import make_cluster
    from pipeline.data import load_dataset, with_extra_faces
    from pipeline.training.distill import Teachers

    class_set = parse_classes(config.classes)
    data = load_dataset(config.data, class_set)
    train_split, validation_split = data["train"], data["validation"]
    if config.extra_data:
        train_split = with_extra_faces(train_split, listed(config.extra_data), class_set, validation_split)
        print(f"Training on {len(train_split.labels)} faces, {len(data['train'].labels)} of them from {config.data}")
    cluster = make_cluster(config.strategy)  # first: it may split the CPU, which only an unused TensorFlow allows
    teachers = Teachers(config.teacher, class_set, train_split) if config.teacher else None
    keras.mixed_precision.set_global_policy("mixed_float16" if config.mixed_precision else "float32")
    try:
        with RunLock(run_dir) if cluster.chief else nullcontext():  # the chief alone writes the run
            return fit(config, run_dir, class_set, train_split, validation_split, teachers, cluster)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def fit(config: TrainConfig, run_dir: Path, class_set, train_split, validation_split, teachers, cluster) -> dict:
    """The training itself, once data, teachers and cluster are ready; returns the final metrics."""
    import keras

    from pipeline.training.adversarial import configure
    from pipeline.training.batches import cluster_batches, steps_per_epoch
    from pipeline.training.checkpoint import RunRecorder
    from pipeline.evaluation.metrics import score
    from pipeline.model import load_model, model_info, predict, read_info

    steps = steps_per_epoch(train_split, config, cluster)
    keras.utils.set_random_seed(config.seed)

    checkpoint_path = run_dir / CHECKPOINT
    with cluster.strategy.scope():
        if checkpoint_path.exists():
            model, _ = load_model(checkpoint_path, compile=True)
            configure(model, config.adversarial, config.adv_step)
            state = read_info(checkpoint_path)["training"]
            if state["finished"]:
                print(f"{run_dir} finished at epoch {state['epoch']}; nothing to resume.")
                return json.loads((run_dir / "metrics.json").read_text())
            print(f"Resuming {run_dir} at epoch {state['epoch'] + 1} of {config.epochs}")
        else:
            if (run_dir / "config.json").exists():
                print(f"No epoch of {run_dir} had finished when it stopped; training it again from its first epoch.")
            model = new_model(config, class_set, steps, cluster.replicas)
            state = {"epoch": 0, "history": [], "best_accuracy": None, "best_epoch": 0, "finished": False}
    placement = {**cluster.describe(), "global_batch": config.batch_size * cluster.replicas,
                 "peak_learning_rate": config.learning_rate * cluster.replicas}
    if cluster.chief and state["epoch"] == 0:
        start_run(run_dir, config, placement, train_split, validation_split)
    print(f"{model.count_params():,} parameters; {len(train_split.labels)} training and "
          f"{len(validation_split.labels)} validation faces; classes {', '.join(class_set.names)}")
    print(f"Training on {placement['workers']} worker(s), {placement['replicas']} replica(s) ({cluster.name}): "
          f"global batch {placement['global_batch']}, peak learning rate {placement['peak_learning_rate']:g}")

    validation = (validation_split.images[..., None].astype("float32"),
                  keras.utils.to_categorical(validation_split.labels, len(class_set)))
    recorder = RunRecorder(run_dir, config.epochs, config.patience, state,
                           model_info(class_set, config=dataclasses.asdict(config), run=run_dir.name),
                           train_split.images, validation, writes=cluster.chief)
    with recorder.stopping_on_ctrl_c():
        model.fit(
            cluster_batches(train_split, config, cluster, first_epoch=state["epoch"], teachers=teachers),
            epochs=config.epochs,
            initial_epoch=state["epoch"],
            steps_per_epoch=steps,
            callbacks=[recorder],
            shuffle=False,  # the batches are shuffled already
            verbose=1 if sys.stdout.isatty() else 2,
        )
    if recorder.interrupted:
        raise KeyboardInterrupt  # after the last whole epoch, which is what --resume continues from
    if not cluster.chief:
        return {}

    best, _ = load_model(run_dir / BEST_MODEL)
    metrics = score(validation_split.labels, predict(best, validation_split.images).argmax(axis=1),
                    validation_split.class_names)
    metrics.update(
        run=str(run_dir),
        best_epoch=state["best_epoch"],
        epochs_trained=state["epoch"],
        parameters=best.count_params(),
        seconds_per_epoch=round(sum(row["seconds"] for row in state["history"]) / max(len(state["history"]), 1), 1),
    )
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"Best epoch {state['best_epoch']}: validation accuracy {metrics['accuracy']:.4f}, "
          f"macro F1 {metrics['macro_f1']:.4f}. Model: {run_dir / BEST_MODEL}")
    return metrics


def new_model(config: TrainConfig, class_set, steps_per_epoch: int, replicas: int = 1):
    """A compiled model for a new run: fresh, or started from ``config.init_from``.

    Starting from a model takes its architecture, which is written back into ``config``.
    """
    from pipeline.training.adversarial import training_model
    from pipeline.model import ARCHITECTURE, bare_network, build_vgg11, load_model, transfer_weights

    source = None
    if config.init_from:
        source, source_info = load_model(resolve_model_path(config.init_from))
        source = bare_network(source)
        for name in ARCHITECTURE:
            setattr(config, name, source_info["config"][name])
    network = build_vgg11(len(class_set), config.width, config.activation, config.dropout, config.l2, config.head_units)
    model = training_model(network, config.adversarial, config.adv_step)
    if source is not None:
        print(f"Starting from {config.init_from}: {transfer_weights(source, source_info, model, class_set)}")
    compile_model(model, config, steps_per_epoch, replicas)
    return model


def start_run(run_dir: Path, config: TrainConfig, placement: dict, train_split, validation_split) -> None:
    """Write what a new run records before its first epoch: its config (with where it trains,
    under ``cluster``) and the class chart."""
    from pipeline.plots import plot_class_counts

    (run_dir / "config.json").write_text(json.dumps({**dataclasses.asdict(config), "cluster": placement}, indent=2))
    plot_class_counts({"train": train_split.counts(), "validation": validation_split.counts()},
                      train_split.class_names, run_dir / "class_frequencies.png")


def compile_model(model, config: TrainConfig, steps_per_epoch: int, replicas: int = 1) -> None:
    """Adam with linear warm-up and cosine decay, its peak ``replicas`` times --learning-rate (the
    global batch grows with them); label-smoothed cross-entropy, blended with the teachers' soft
    targets when there are teachers (pipeline.training.distill)."""
    import keras
    import tensorflow as tf

    from pipeline.training.distill import DistillationLoss, label_accuracy

    warmup_steps = config.warmup_epochs * steps_per_epoch
    peak = config.learning_rate * replicas
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 10,
        warmup_target=peak,
        warmup_steps=warmup_steps,
        decay_steps=max(config.epochs * steps_per_epoch - warmup_steps, 1),
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=DistillationLoss(config.label_smoothing, config.distill_temperature,
                              config.distill_weight if config.teacher else 0.0),
        metrics=[keras.metrics.MeanMetricWrapper(label_accuracy, name="accuracy")],
        # XLA made a training step of the default network 2.5 times slower on a CPU (1.37 s against
        # 0.55 s for a batch of 64); Keras chooses where there is a GPU.
        jit_compile="auto" if tf.config.list_physical_devices("GPU") else False,
    )
    # Adam's slots, left to the first training step, would make TensorFlow trace that step twice.
    model.optimizer.build(model.trainable_variables)


if __name__ == "__main__":
    main()
