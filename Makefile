# abkit: `make test` and `make demo` bootstrap .venv from pyproject.toml when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make demo` needs only the core install (what a cron box running `abkit report` has);
# the test suite needs the dev extra (pytest, the PostgreSQL and Spark engines, pdoc, polars).
CORE := $(VENV)/.installed-core
STAMP := $(VENV)/.installed

.PHONY: test demo lab bench docs calibrate lint clean

$(CORE): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	@touch $(CORE)

$(STAMP): $(CORE)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

demo: $(CORE)
	$(BIN)/abkit demo

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	$(BIN)/jupyter lab notebooks/

# every benchmark, then the side-by-side table against statsmodels, tea-tasting and bayesian-testing
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for f in benchmarks/bench_*.py; do \
		[ "$$f" = benchmarks/bench_peers.py ] && continue; \
		echo "== $$f"; $(BIN)/python $$f || exit 1; \
	done
	@echo "== benchmarks/bench_peers.py"; $(BIN)/python benchmarks/bench_peers.py

# the API reference from the docstrings (pdoc) into docs/api/; fails on any warning
docs: $(STAMP)
	$(BIN)/python docs/build_api.py docs/api

calibrate: $(STAMP)
	$(BIN)/python benchmarks/calibrate.py
	$(BIN)/python benchmarks/calibrate_targeting.py

lint: $(STAMP)
	$(BIN)/ruff check abkit tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache docs/api
