"""Mien's Python side, from data to a trained model and from pictures to expressions.

- shared by every part: ``expressions`` (classes, input size, pixel format), ``data`` (data sets),
  ``model`` (the network, its mirror average, saving and loading), ``runs`` (where runs and
  shipped models are), ``plots``, ``errors`` and ``console`` (how the commands report and start
  TensorFlow);
- the commands, ``python -m pipeline.<name>``: ``train``, ``evaluate``, ``detect``, ``mood``,
  ``collect`` (faces cut from labelled photos), ``personalise`` (a person's profile from their pictures);
- ``training/``: the parts of training (recipe, batches, checkpoints, clusters, distillation,
  adversarial regularisation);
- ``evaluation/``: metrics and robustness;
- ``faces/``: the page's way with faces (its face finder, crop, classifier and profiles), in Python.

It stands on ``facts`` (what Python and the browser share) and imports nothing of ``web``,
``bench`` or ``exporters`` (tests/test_layers.py).
"""
