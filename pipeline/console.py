"""How the command-line tools start TensorFlow: without the lines its native code prints on a
machine without a GPU (cuDNN, cuBLAS and cuFFT factories, the computation placer, CUDA drivers,
graph optimiser sessions), which read like failures but are not. ``--verbose`` shows them.

This is the one place that sets TensorFlow's log level. The commands import TensorFlow only
through :func:`load_tensorflow`, after their arguments are read, so ``--help`` and argument
errors answer at once and ``--verbose`` is known before TensorFlow starts."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

_verbose = False


def load_tensorflow(verbose: bool = False) -> None:
    """Import TensorFlow and Keras, quietly unless ``verbose`` (which also holds for
    :func:`native_logs_hidden` later)."""
    global _verbose
    _verbose = verbose
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's own info, warning and error lines
    # tensorflowjs imports tensorflow-decision-forests, whose welcome banner imports IPython when
    # the output is not a terminal.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    with native_logs_hidden():
        import keras  # noqa: F401


@contextmanager
def native_logs_hidden():
    """Hide what native code writes straight to file descriptor 2 meanwhile (unless verbose)."""
    if _verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
