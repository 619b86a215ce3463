# Switchyard: `make run` serves the demo on 127.0.0.1:8123 (auth off: loopback only); `make test` runs the whole suite.
# Both create .venv and install everything on first use (Python 3.11 is all they need).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8123
DB ?= var
# The local demo runs without API keys (loopback only); `make run AUTH=on` to try keys.
AUTH ?= off

.PHONY: run test lint bench seed clean install

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

seed: $(STAMP)
	$(BIN)/switchyard seed --db $(DB)

run: $(STAMP)
	$(BIN)/switchyard serve --host 127.0.0.1 --port $(PORT) --db $(DB) --auth $(AUTH)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy graphs nodes routers server shop infra

bench: $(STAMP)
	$(BIN)/switchyard bench fast-path

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
