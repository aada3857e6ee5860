"""python -m web: serve the Mien page."""

import sys

print(
    "The Mien page is not built yet: this release has the training pipeline only. "
    "Train a model with python -m pipeline.train --classes 4.",
    file=sys.stderr,
)
sys.exit(1)
