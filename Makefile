# Mien: `make serve` installs what the page needs and serves it; `make test` installs everything
# and runs the tests. Both work on a fresh Debian or Ubuntu machine: serving with Python 3.11 or
# newer, training, export and the tests with Python 3.11 or 3.12 (PYTHON=python3.12 chooses one).
# The serving install is small: Flask and waitress, and the dozen files the page takes from npm
# packages (vendor/, by python -m web.vendor). Training, export, tests and benchmarks add
# TensorFlow, the npm packages themselves (node_modules/: TF.js in Node, the peers) and Chromium.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: serve test train export bench bench-gpu bench-accuracy package install install-dev system-packages npm clean

serve: $(VENV)/.installed vendor/packages.json
	$(BIN)/python -m web

# The pure JavaScript modules' unit tests run first (Node's own runner, a second), then the rest in
# parallel, one worker per CPU core up to four; TEST_WORKERS=1 runs them one by one.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n < 4 ? n : 4 )))

test: $(VENV)/.installed-dev vendor/packages.json node_modules/.installed system-packages
	node --test tests/js/*.test.mjs
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

train: $(VENV)/.installed-dev
	$(BIN)/python -m pipeline.train --classes 4

export: $(VENV)/.installed-dev node_modules/.installed
	$(BIN)/python -m exporters.to_tfjs

bench: $(VENV)/.installed-dev vendor/packages.json node_modules/.installed system-packages
	$(BIN)/python -m bench speed

# The same on this machine's NVIDIA GPU (WebGL and WebGPU): docs/bench/speed-gpu.json.
bench-gpu: $(VENV)/.installed-dev vendor/packages.json node_modules/.installed system-packages
	$(BIN)/python -m bench speed --gpu

bench-accuracy: $(VENV)/.installed-dev vendor/packages.json node_modules/.installed system-packages
	$(BIN)/python -m bench accuracy

# The component as the npm package mien-expressions (dist/mien-expressions-VERSION.tgz), the default model inside.
package: $(VENV)/.installed vendor/packages.json
	$(BIN)/python -m web.package

install: $(VENV)/.installed vendor/packages.json
install-dev: $(VENV)/.installed-dev vendor/packages.json node_modules/.installed system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# TensorFlow 2.19 (the newest tensorflowjs works with) has wheels for Python 3.9 to 3.12 only.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' || { \
		echo "Training, export and the tests need Python 3.11 or 3.12 (TensorFlow 2.19 has no wheels for $$($(BIN)/python -V)); install python3.12 and run: make clean && make test PYTHON=python3.12" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The files the page serves, taken out of their npm packages (a few MB, not the packages).
vendor/packages.json: package.json facts/__init__.py web/vendor.py component/static/face-finder.json | $(VENV)/.installed npm
	$(BIN)/python -m web.vendor
	touch $@

# The npm packages themselves, from the lock file: TF.js for the exporter's check in Node, and the
# benchmarks' peers.
node_modules/.installed: package.json package-lock.json | npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

npm:
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }

# Debian's Chromium (driven by Playwright; never a downloaded browser), Firefox ESR (driven by
# puppeteer-core over WebDriver BiDi: tests/firefox.mjs) and ffmpeg (fake webcam clips).
system-packages:
	@command -v chromium >/dev/null && command -v firefox-esr >/dev/null && command -v ffmpeg >/dev/null || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium firefox-esr ffmpeg; }

clean:
	rm -rf $(VENV) node_modules vendor dist
