# Two commands set up a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs (again only when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench examples wheel-check clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

## demo: the live view on the bundled real-motion capture (headless: figures + summary)
demo: $(VENV)/.runtime
	$(BIN)/sacrum demo

## test: lint and the whole test suite (firmware-side tests under MicroPython included)
test: $(VENV)/.dev
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not realtime"
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m realtime \
	    $$(grep -l "pytest.mark.realtime" tests/test_*.py)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

$(VENV)/.bench: $(VENV)/.dev
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

## bench: decoding vs a struct.unpack loop; fusion and orientation vs VQF, Fusion, Madgwick,
## Mahony on BROAD; gait events vs mobgap on Mobilise-D; pipeline, scorer, live-view and BLE
## speed (slow; not part of the tests)
bench: $(VENV)/.bench
	$(BIN)/python bench/decode_throughput.py
	$(BIN)/python bench/fusion_broad.py
	$(BIN)/python bench/orientation_broad.py
	$(BIN)/python bench/gait_mobgap.py
	$(BIN)/python bench/gait_subjects.py
	$(BIN)/python bench/score_coverage.py
	$(BIN)/python bench/heading_after_turn.py
	$(BIN)/python bench/mounting_uncertainty.py
	$(BIN)/python bench/cues_counted_steps.py
	$(BIN)/python bench/firmware_budget.py
	$(BIN)/python bench/pipeline_speed.py
	$(BIN)/python bench/scorer_speed.py
	$(BIN)/python bench/ble_link.py
	$(BIN)/python bench/ble_real_stack.py
	$(BIN)/python bench/consistency.py --all
	$(BIN)/python bench/live_latency.py

## examples: rebuild the sample captures from ../shared/data/mobgap
examples: $(VENV)/.dev
	$(BIN)/python examples/make_examples.py

## wheel-check: build the wheel, install it in a fresh venv (no checkout on its path) and run
## the demo from it, as a user's `pip install sacrum` would; a setuptools warning fails it
WHEEL_DIR := build/wheel-check
wheel-check: $(VENV)/.runtime
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	$(BIN)/python -m pip wheel --no-deps . -w $(WHEEL_DIR)/dist > $(WHEEL_DIR)/build.log 2>&1 \
	  || (cat $(WHEEL_DIR)/build.log; exit 1)
	! grep -E "Warning|deprecated" $(WHEEL_DIR)/build.log
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/python -m pip install -q $(WHEEL_DIR)/dist/sacrum-*.whl
	cd $(WHEEL_DIR) && QT_QPA_PLATFORM=offscreen venv/bin/sacrum demo --headless

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build
