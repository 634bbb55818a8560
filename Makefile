# The two commands a new user needs: `make quickstart` and `make test`. Both set up .venv from nothing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: quickstart test test-slow lint bench install clean

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.x"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(PY) -m sc2agents.bin.quickstart --out=$(OUT)/quickstart

test: $(STAMP)
	$(PY) -m ruff check sc2agents tests benchmarks configs setup.py
	$(PY) -m pytest -q -x --timeout=900

test-slow: $(STAMP)
	$(PY) -m pytest -q -m "slow" --timeout=1800

lint: $(STAMP)
	$(PY) -m ruff check sc2agents tests benchmarks configs setup.py
	$(PY) -m ruff format --check sc2agents tests benchmarks configs setup.py

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b --quick --json=$(OUT)/bench/$$(basename $$b .py).json || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) runs reports
