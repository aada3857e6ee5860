"""Mien's Python side: data, model, training, evaluation and detection."""

import os

# TensorFlow's C++ start-up chatter (CPU features, no CUDA device, plugins) is not for users;
# real failures still surface as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# tensorflowjs imports tensorflow-decision-forests, whose welcome banner imports IPython when
# the output is not a terminal.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
