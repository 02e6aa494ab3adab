# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest browser shellcheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: install
	$(BIN)/ztoq demo

lint: install
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Headless Chromium for the browser tests (Debian's package, installed when missing and root).
browser:
	@sh scripts/ensure-chromium.sh

# shellcheck on the shell scripts (Debian's package, installed when missing and root, like Chromium).
SHELL_SCRIPTS := config/run-migration.sh $(wildcard scripts/*.sh)

shellcheck:
	@sh scripts/ensure-shellcheck.sh
	@if command -v shellcheck >/dev/null 2>&1; then shellcheck $(SHELL_SCRIPTS); fi

# One worker per core plus one (the end-to-end tests wait on subprocesses and simulated latency
# a good part of the time), at most 4; a test file per worker at a time: module fixtures (the
# kill harness's reference run) are built once per file.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(4, (os.cpu_count() or 1) + 1))")
pytest: install browser
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: lint shellcheck typecheck pytest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
