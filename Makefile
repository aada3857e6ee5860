# Mien: `make serve` installs what the page needs and serves it; `make test` installs everything
# and runs the tests. Both work on a fresh machine with Python 3.11.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test train install install-dev clean

serve: $(VENV)/.installed
	$(BIN)/python -m web

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

train: $(VENV)/.installed-dev
	$(BIN)/python -m pipeline.train --classes 4

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) node_modules
