# The few commands a person types. `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION ?= 3.13.0
# The Lambda runtime's Python: pyenv's 3.13 when present, else whatever python3.13 is on PATH.
PYTHON ?= $(shell PYENV_VERSION=$(PYTHON_VERSION) pyenv which python 2>/dev/null || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PYENV_VERSION := $(PYTHON_VERSION)

.PHONY: help venv lock lint typecheck validate scan unit test verify fuzz model-deep demo local build openapi organization clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: requirements-dev.lock | $(BIN)/python
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	@touch $@

venv: $(VENV)/.synced ## create .venv from the locked dependencies

lock: | $(BIN)/python ## re-resolve requirements-dev.lock and the layer's requirements.txt from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.13 -q -o requirements-dev.lock
	$(UV) pip compile pyproject.toml --python-version 3.13 --python-platform aarch64-manylinux_2_28 -q --no-header -o layers/core/requirements.txt

lint: venv ## ruff lint and format check, and the core's import layering (docs/architecture.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=layers/core $(BIN)/lint-imports --no-cache

typecheck: venv ## mypy --strict on the product code
	$(BIN)/mypy

validate: venv ## sam validate, plain and with cfn-lint
	$(BIN)/sam validate
	$(BIN)/sam validate --lint

unit: venv ## the unit tests only (fast)
	$(BIN)/pytest tests/unit -q

scan: venv ## security scanners: bandit, pip-audit, checkov (in its own virtualenv)
	scripts/scan.sh

test: venv lint typecheck validate scan ## everything CI runs: lint, types, sam validate, scanners, all tests with coverage
	$(BIN)/pytest -q -p no:cacheprovider --cov --cov-report=term

verify: venv fuzz ## make fuzz, then the load run (~50 min on 2 cores): 200 instances on the local stack for 3 simulated hours; bench/results/load.md; then make model-deep
	$(BIN)/python -m bench.load $(VERIFY_ARGS)
	$(MAKE) model-deep

model-deep: venv ## the poller's model test in its deep mode: random seeds, more and longer histories, every flip
	RELIABILITY_MODEL_DEEP=1 $(BIN)/pytest -q -p no:cacheprovider tests/reliability/test_model_poller.py

fuzz: venv ## schemathesis's st run, every check and phase, against the local stack (~4 min on 2 cores); FUZZ_ARGS go to st run
	PYTHONPATH=local $(BIN)/python -m devstack.fuzz $(FUZZ_ARGS)

local: venv ## the whole service on this machine, no AWS account or Docker (README: Run it on your machine); Ctrl-C stops it
	PYTHONPATH=local $(BIN)/python -m devstack

demo: venv ## see it work: local stack, an instance, store changes, signed callbacks (~20 s), then exit
	PYTHONPATH=local $(BIN)/python -m devstack.demo

build: venv ## sam build (needs Python 3.13 on PATH; pyenv's is used)
	PATH="$$(dirname $(PYTHON)):$$PATH" $(BIN)/sam build

openapi: venv ## regenerate schemas/openapi.json from the api function's routes and models
	$(BIN)/python -c "import sys; sys.path[:0] = ['layers/core', 'functions/api']; import api_handler; print(api_handler.openapi_document())" > schemas/openapi.json

organization: venv ## create an organization and user in the deployed table: make organization NAME=acme
	$(BIN)/python -m bcevents.cli create-organization --name "$(or $(NAME),default)"

clean: ## remove build output and the virtualenv
	rm -rf .aws-sam $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage

BENCH_VENV := bench/.venvs/bench
LAYER_VENV := bench/.venvs/layer
.PHONY: bench
bench: venv ## the benchmarks (~15 min on 2 cores): bench/results/report.md, results.json and plots
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BENCH_VENV)
	$(UV) pip install --quiet --python $(BENCH_VENV)/bin/python -r requirements-dev.lock matplotlib
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(LAYER_VENV)
	$(UV) pip install --quiet --python $(LAYER_VENV)/bin/python -r layers/core/requirements.txt
	$(BENCH_VENV)/bin/python -m bench.run
