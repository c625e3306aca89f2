# Two entry points on a fresh machine with Python >= 3.11:
#   make demo   create .venv, install, run the main job
#   make test   create .venv, install with test extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
# pytest-xdist processes for make test (each may take ~5 GB while compiling reverse-mode ICRS)
TEST_PROCESSES ?= 2
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[plot]"
	touch $@

$(VENV)/.installed-test: $(BIN)/activate pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,plot]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/microjax-survey demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow" -n $(TEST_PROCESSES) --dist loadfile --durations=15

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_point_source.py
	$(BIN)/python benchmarks/accuracy_point_source.py
	$(BIN)/python benchmarks/bench_single_lens_finite_source.py

clean:
	rm -rf $(VENV) .pytest_cache
