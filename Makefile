# The two set-up commands of the README:
#   make demo   create .venv if needed, install npr, run `npr demo`
#   make test   create .venv with the dev extras, run the test suite
PYTHON ?= python3
VENV   ?= .venv
CACHE  ?= $(CURDIR)/.cache
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.npr-installed
export NPR_CACHE := $(CACHE)

.PHONY: demo test venv models constraints clean help

help:
	@echo "make demo         install into $(VENV) and run the npr demo"
	@echo "make test         install into $(VENV) with dev extras and run the tests"
	@echo "make models       fetch and convert SmolLM2-135M-Instruct into $(CACHE)/models"
	@echo "make constraints  re-pin requirements/constraints.txt from $(VENV)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements/constraints.txt
	$(PIP) install --quiet --disable-pip-version-check -c requirements/constraints.txt -e ".[dev]"
	@touch $@

venv: $(STAMP)

models: $(STAMP)
	$(BIN)/python -c "from npr.toy.smollm2 import smollm2_dir; print(smollm2_dir())"

demo: $(STAMP)
	$(BIN)/npr demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

constraints: $(STAMP)
	head -2 requirements/constraints.txt > requirements/constraints.txt.new
	$(PIP) freeze --exclude-editable | sed 's/+cpu//' >> requirements/constraints.txt.new
	@mv requirements/constraints.txt.new requirements/constraints.txt

clean:
	rm -rf $(VENV) out .pytest_cache
