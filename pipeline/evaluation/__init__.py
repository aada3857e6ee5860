"""Measuring a model: its figures against the labels (``metrics``) and how well it holds up when
faces are not clean (``robustness``). ``python -m pipeline.evaluate`` prints both."""
