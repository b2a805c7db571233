VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: plan test

# set up the virtual environment once (again when pyproject.toml changes)
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# run the built-in Qingdao 2025 plan → maps/qingdao_2025/
plan: $(VENV)/.installed
	$(BIN)/siting plan

# run the test suite
test: $(VENV)/.installed
	$(BIN)/python -m pytest
