# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when missing and install
# the project with the tested versions (constraints.txt); nothing is reinstalled when nothing changed.
PYTHON ?= python3
VENV ?= .venv
# Extra pip arguments, e.g. on a GPU machine: make test PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cu128"
PIP_ARGS ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-gpu lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt $(PIP_ARGS) -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/synth run configs/adult.yaml

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# Test files run in parallel, one worker per core up to four (pytest-xdist); a file's tests stay on one worker.
# Files go out in path order, so the slow end-to-end files (tests/pipelines/) start first and the workers finish
# together; xdist's default order (most tests first) leaves a two-test file of servers and subprocesses for last.
test: lint
	$(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadfile --no-loadscope-reorder

# The CUDA tests (marked cuda; skipped without a GPU) of the synth and validators suites, on this machine's GPU.
test-gpu: $(STAMP)
	$(BIN)/pytest -q -m cuda tests/synth tests/validators

bench: $(STAMP)
	$(BIN)/python bench/tabular.py
	$(BIN)/python bench/tables.py
	$(BIN)/python bench/bench_validators.py
	$(BIN)/python bench/bench_generation.py --rows 10000000
	$(BIN)/python bench/bench_image.py --epochs 20 --train-images 8000
	$(BIN)/python bench/bench_privacy.py --epochs 20

clean:
	rm -rf data/published data/runs .pytest_cache .ruff_cache .mypy_cache
