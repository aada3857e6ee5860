"""The parts of ``python -m pipeline.train``: the recipe (``config``), the batches (``batches``),
what a run writes after each epoch (``checkpoint``), where it trains (``cluster``), learning from
teachers (``distill``, and ``teachers``, which scores the training faces with a browser peer) and
adversarial regularisation (``adversarial``)."""
