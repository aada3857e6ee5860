"""The parts of ``python -m pipeline.train``: the recipe (``config``), the batches (``batches``),
what a run writes after each epoch (``checkpoint``), where it trains (``cluster``), learning from
teachers (``distill``; ``python -m bench teachers`` makes a browser peer's teacher table) and
adversarial regularisation (``adversarial``)."""
