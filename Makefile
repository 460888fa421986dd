# abkit: `make test` and `make demo` bootstrap .venv from pyproject.toml when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lab bench calibrate lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

demo: $(STAMP)
	$(BIN)/abkit demo

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

calibrate: $(STAMP)
	$(BIN)/python benchmarks/calibrate.py
	$(BIN)/python benchmarks/calibrate_targeting.py

lint: $(STAMP)
	$(BIN)/ruff check abkit tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
