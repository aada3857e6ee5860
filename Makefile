# Mien: `make serve` installs what the page needs and serves it; `make test` installs everything
# and runs the tests. Both work on a fresh Debian or Ubuntu machine with Python 3.11.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test train export bench bench-accuracy install install-dev system-packages clean

serve: $(VENV)/.installed node_modules/.installed
	$(BIN)/python -m web

test: $(VENV)/.installed-dev node_modules/.installed system-packages
	$(BIN)/python -m pytest

train: $(VENV)/.installed-dev
	$(BIN)/python -m pipeline.train --classes 4

export: $(VENV)/.installed-dev node_modules/.installed
	$(BIN)/python -m exporters.to_tfjs

bench: $(VENV)/.installed-dev node_modules/.installed system-packages
	$(BIN)/python -m web.bench speed

bench-accuracy: $(VENV)/.installed-dev node_modules/.installed system-packages
	$(BIN)/python -m web.bench accuracy

install: $(VENV)/.installed node_modules/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The browser's packages (TF.js, its wasm backend, face-detector weights), from the lock file.
node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium (driven by Playwright; never a downloaded browser) and ffmpeg (fake webcam clips).
system-packages:
	@command -v chromium >/dev/null && command -v ffmpeg >/dev/null || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium ffmpeg; }

clean:
	rm -rf $(VENV) node_modules
