# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` needs only the stack's packages (requirements-run.txt, which requirements-dev.txt holds too): its own
# stamp, in the same venv, so a first `make run` does not wait for the test and deploy tools.
RUN_STAMP := $(VENV)/.run-installed
# checkov pins many packages of its own, so it gets a venv of its own; tests/integration/test_template.py runs it.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Kestra's Python SDK, 1.x and 2.x, a venv each (one package name); tests/e2e/test_kestrapy.py drives the stack with
# each.
KESTRAPY_STAMPS := .venv-kestrapy1/.installed .venv-kestrapy2/.installed

.PHONY: run test lint unit integration e2e sam checkov bench lock clean routes

# Installs come from the locks (*.txt: every package pinned, with its hashes), never from the intents (*.in);
# pip first, from its own lock (requirements-pip.in says why). Then the project itself, without dependencies
# (they are in the locks), for its `backfill` console script (cli/).
PIP_INSTALL = -m pip install --quiet --disable-pip-version-check --require-hashes
PIP_RUN_INSTALL = -m pip install --disable-pip-version-check --require-hashes

$(STAMP): requirements-pip.txt requirements-dev.txt requirements-run.txt layers/core/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_INSTALL) -r requirements-pip.txt
	$(BIN)/python $(PIP_INSTALL) -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP) $(RUN_STAMP)

# Not quiet: a first `make run` shows each package as pip fetches and installs it.
$(RUN_STAMP): requirements-pip.txt requirements-run.txt layers/core/requirements.txt pyproject.toml
	@test -x $(BIN)/python || (echo "Creating the virtualenv $(VENV)" && $(PYTHON) -m venv $(VENV))
	@echo "Installing pip, then the local stack's packages and the backfill command (requirements-run.txt) into $(VENV)"
	$(BIN)/python $(PIP_RUN_INSTALL) -r requirements-pip.txt
	$(BIN)/python $(PIP_RUN_INSTALL) -r requirements-run.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(RUN_STAMP)

$(CHECKOV_STAMP): requirements-pip.txt requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python $(PIP_INSTALL) -r requirements-pip.txt
	$(CHECKOV_VENV)/bin/python $(PIP_INSTALL) -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

# .venv-kestrapy<N> from requirements-kestrapy<N>.txt.
.venv-kestrapy%/.installed: requirements-pip.txt requirements-kestrapy%.txt
	test -x .venv-kestrapy$*/bin/python || $(PYTHON) -m venv .venv-kestrapy$*
	.venv-kestrapy$*/bin/python $(PIP_INSTALL) -r requirements-pip.txt
	.venv-kestrapy$*/bin/python $(PIP_INSTALL) -r requirements-kestrapy$*.txt
	touch $@

# `make run PORT=9090` serves on another port (python -m local --port).
PORT ?=
run: $(RUN_STAMP)
	$(BIN)/python -m local $(if $(PORT),--port $(PORT))

test: lint $(CHECKOV_STAMP) $(KESTRAPY_STAMPS)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# Lint, format and types (`$(BIN)/ruff format .` formats the tree); mypy reads its files and options from
# pyproject.toml ([tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP) $(KESTRAPY_STAMPS)
	$(BIN)/python -m pytest tests/e2e

# The README's tables of Kestra's routes (API, "Kestra's routes"), written again from the routes we declare,
# Kestra's OpenAPI documents and tests/kestra_route_reasons.py; tests/unit/test_kestra_route_table.py fails until
# they are.
routes: $(STAMP)
	$(BIN)/python -m tests.kestra_route_table --write

# template.yaml's security findings, each either fixed or suppressed in the template with its reason.
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact

# The benchmarks, each appending its figures to bench/results.md (BENCH=--quick for a smoke check).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

# The locks again, after a change to a *.in: each package pinned with the hashes of its files on PyPI, for
# Lambda's Python (3.11 on x86_64 Linux). The layer's lock is what `sam build` installs; requirements-run.in
# takes the layer's packages at their locked versions, and requirements-dev.in all of requirements-run.in. A pin
# already in a lock stays unless its *.in moves it (`make lock LOCK_FLAGS=--upgrade` takes the newest that fit).
# uv runs from a venv of its own, outside the project's.
LOCK_TOOL := $(or $(TMPDIR),/tmp)/kestra-backfills-uv
UV_VERSION := 0.13.9
LOCK_FLAGS ?=
COMPILE = $(LOCK_TOOL)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11.7 \
	--python-platform x86_64-manylinux2014 --no-strip-extras --custom-compile-command "make lock" $(LOCK_FLAGS)

lock:
	test -x $(LOCK_TOOL)/bin/uv || ($(PYTHON) -m venv $(LOCK_TOOL) && $(LOCK_TOOL)/bin/pip install --quiet uv==$(UV_VERSION))
	$(COMPILE) requirements-pip.in -o requirements-pip.txt
	$(COMPILE) layers/core/requirements.in -o layers/core/requirements.txt
	$(COMPILE) requirements-run.in -o requirements-run.txt
	$(COMPILE) requirements-dev.in -o requirements-dev.txt
	$(COMPILE) requirements-checkov.in -o requirements-checkov.txt
	$(COMPILE) requirements-kestrapy1.in -o requirements-kestrapy1.txt
	$(COMPILE) requirements-kestrapy2.in -o requirements-kestrapy2.txt

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-kestrapy1 .venv-kestrapy2 .aws-sam .pytest_cache .ruff_cache .mypy_cache
