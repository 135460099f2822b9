# Two commands for a fresh machine: `make serve` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve classroom test install lint format bench bench-classroom realdraw clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)  ## install, then serve the bundled default model on http://127.0.0.1:8000/
	$(BIN)/python -m app

classroom: $(STAMP)  ## serve a class on the local network: prints the teacher's URL and the join address
	$(BIN)/python -m app --host 0.0.0.0 --workers 2

test: $(STAMP)  ## install, then run lint, format check and the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.bench_predict

bench-classroom: $(STAMP)  ## 60 simulated students against --workers 2 for 60 s
	$(BIN)/python -m bench.bench_classroom

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
