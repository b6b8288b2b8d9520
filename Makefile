# Everything runs inside .venv, created on first use. Only Python 3.10+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The developer tools (pytest, nbval, ruff, import-linter, Playwright) stay out of a student's
# setup; make test and make browser-check add them. The browser is Debian's chromium package.
DEV_INSTALLED := $(VENV)/.dev-installed
CELL_TIMEOUT := 600

.PHONY: setup run test smoke lab bench browser-check browser-notebooks demo clean-runs data student-copy

setup: $(INSTALLED)

# Reinstall only when the requirements or the package metadata change.
$(INSTALLED): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

## make run: execute all the notebooks on the default data (data/course if present, else the sample)
run: $(INSTALLED)
	$(BIN)/python scripts/run_notebooks.py

## make data: fetch HAM10000 into data/ham10000 if needed (2.6 GB), then build data/course from it
## (MIRROR=<base URL> fetches from a copy, e.g. on a course server)
data: $(INSTALLED)
	@if [ -d data/course ]; then echo "data/course already exists (delete it to build it again)"; else \
		$(BIN)/python -m skinkit download --out data/ham10000 --no-next-step $(if $(MIRROR),--mirror $(MIRROR)) && \
		$(BIN)/python -m skinkit prepare --ham10000 data/ham10000 --out data/course --preset course; fi

## make test: unit tests, then every notebook under nbval in smoke mode (fresh run folder each time),
## each in a kernel of its own. A notebook starts once the notebooks whose run folders it reads have
## passed (the order rules below), and the worked solutions (when notebooks/solutions/ is there) once
## their course notebook has, so up to NBVAL_JOBS run side by side; make prints each one's output
## whole. nbval compares the cells marked NBVAL_CHECK_OUTPUT with notebooks/reference_outputs.json,
## after the sanitizer masks what differs between machines.
test: $(DEV_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto --dist loadscope tests
	runs=$$(mktemp -d) && $(MAKE) --no-print-directory --keep-going --jobs=$(NBVAL_JOBS) --output-sync=target \
		NBVAL_RUNS=$$runs nbval; status=$$?; rm -rf $$runs; exit $$status

NBVAL_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# make test passes a fresh run folder; alone, `make nbval` would reuse runs/smoke and load old stages.
NBVAL_RUNS ?= $(error run the notebooks under nbval with make test, which gives them a fresh run folder)
NBVAL_NOTEBOOKS := $(patsubst notebooks/%.ipynb,nbval/%,$(wildcard notebooks/0*.ipynb notebooks/solutions/0*.ipynb))
NBVAL_SOLUTIONS := $(filter nbval/solutions/%,$(NBVAL_NOTEBOOKS))
.PHONY: nbval $(NBVAL_NOTEBOOKS)

# One thread per kernel: notebooks run side by side, and smoke mode's tensors are tiny.
nbval: $(NBVAL_NOTEBOOKS)
$(NBVAL_NOTEBOOKS):
	@echo "nbval $(@:nbval/%=notebooks/%.ipynb)"
	@SKINKIT_SMOKE=1 SKINKIT_RUNS=$(NBVAL_RUNS) OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg $(@:nbval/%=notebooks/%.ipynb)

# The order rules: the stages each notebook reads (its setup cell and the stages it compares with) and,
# for 08, the test-split predictions 06 saves. Each solution reads its course notebook's runs.
nbval/03_large_finetuning nbval/04_small_training: nbval/02_large_training
nbval/05_small_finetuning: nbval/03_large_finetuning nbval/04_small_training
nbval/06_comparison nbval/07_explaining_predictions nbval/09_deployment: nbval/05_small_finetuning
nbval/08_trust: nbval/06_comparison
$(NBVAL_SOLUTIONS): nbval/solutions/%_solutions: nbval/%

## make smoke: the notebooks in smoke mode with per-notebook wall times (a benchmark)
smoke: $(INSTALLED)
	runs=$$(mktemp -d) && SKINKIT_RUNS=$$runs $(BIN)/python scripts/run_notebooks.py --smoke; \
		status=$$?; rm -rf $$runs; exit $$status

## make bench: data-pipeline and training-step speed-ups on this machine
bench: $(INSTALLED)
	$(BIN)/python -m skinkit bench

## make browser-check: the demo page in a real Chromium (tests/test_demo_page.py), then every notebook and every
## worked solution in smoke mode in JupyterLab (screenshots in runs/browser/)
browser-check: $(DEV_INSTALLED)
	SKINKIT_BROWSER_REQUIRED=1 $(BIN)/python -m pytest tests/test_demo_page.py
	$(MAKE) --no-print-directory browser-notebooks

## make browser-notebooks: only the notebooks of browser-check (CI runs the demo page test within make test,
## with SKINKIT_BROWSER_REQUIRED=1, where it shares the unit tests' export)
browser-notebooks: $(DEV_INSTALLED)
	$(BIN)/python scripts/browser_check.py

## make demo: export the fine-tuned Small of runs/ (once; delete runs/export/small_finetune to export again) and
## serve its demo page on the local network, for a phone on the same Wi-Fi (PORT=8000 by default)
demo: $(INSTALLED)
	test -f runs/export/small_finetune/model.int8.onnx || $(BIN)/python -m skinkit export --stage small_finetune
	$(BIN)/python -m skinkit demo --stage small_finetune --serve --port $(or $(PORT),8000)

$(DEV_INSTALLED): $(INSTALLED) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_INSTALLED)

lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/

## make student-copy: the committed kit as dist/skinkit-student.zip, without the worked solutions and their helpers (skinkit/exercises)
student-copy:
	mkdir -p dist
	git archive --format=zip --prefix=skinkit/ -o dist/skinkit-student.zip HEAD -- . ':(exclude)notebooks/solutions' ':(exclude)skinkit/exercises'
	@echo "dist/skinkit-student.zip: the kit as committed, without notebooks/solutions/ and skinkit/exercises/"

clean-runs:
	rm -rf runs/smoke
