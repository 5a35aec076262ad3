# Two commands on a fresh machine: `make bench` (the default suite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: bench test test-all benchmarks clean

# pyproject.toml declares every dependency; the editable install serves the checkout as googlenet_bench.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

bench: $(VENV)/.installed
	$(PY) bench.py $(ARGS)

# CI's tests: all but the heavy ones (pyproject.toml's markers), so CI stays near 20 minutes.
test: $(VENV)/.installed
	$(PY) -m pytest -m "not heavy" $(ARGS)

test-all: $(VENV)/.installed
	$(PY) -m pytest $(ARGS)

benchmarks: $(VENV)/.installed
	$(PY) -m pytest tests/benchmarks --benchmark-only --benchmark-autosave $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
