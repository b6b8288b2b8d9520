# Everything runs inside .venv, created on first use. Only Python 3.10+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CELL_TIMEOUT := 600

.PHONY: setup run test smoke lab bench clean-runs

setup: $(INSTALLED)

# Reinstall only when the requirements or the package metadata change.
$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

## make run: execute all seven notebooks on the default data (data/course if present, else the sample)
run: $(INSTALLED)
	$(BIN)/python scripts/run_notebooks.py

## make test: unit tests, then every notebook under nbval in smoke mode (fresh run folder each time)
test: $(INSTALLED)
	$(BIN)/python -m pytest tests
	runs=$$(mktemp -d) && SKINKIT_SMOKE=1 SKINKIT_RUNS=$$runs $(BIN)/python -m pytest \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) notebooks/; \
		status=$$?; rm -rf $$runs; exit $$status

## make smoke: the seven notebooks in smoke mode with per-notebook wall times (a benchmark)
smoke: $(INSTALLED)
	runs=$$(mktemp -d) && SKINKIT_RUNS=$$runs $(BIN)/python scripts/run_notebooks.py --smoke; \
		status=$$?; rm -rf $$runs; exit $$status

## make bench: data-pipeline and training-step speed-ups on this machine
bench: $(INSTALLED)
	$(BIN)/python -m skinkit bench

lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/

clean-runs:
	rm -rf runs/smoke
