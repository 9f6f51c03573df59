# Sophrosyne — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DATA_DIR ?= ./data

.PHONY: install system-deps run test lint typecheck contracts unit bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Programs the end-to-end tests and benchmarks drive for real (Debian packages).
system-deps:
	./scripts/system-deps.sh

# While no user exists, the first start creates "admin" with this password (printed here, to
# be changed at the first login); give your own in SOPHROSYNE_INIT_ADMIN_PASSWORD.
run: install
	@pw="$${SOPHROSYNE_INIT_ADMIN_PASSWORD:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(15))')}"; \
	echo "web UI: http://127.0.0.1:8080/ (a new database gets user admin, password $$pw)"; \
	SOPHROSYNE_INIT_ADMIN_PASSWORD="$$pw" SOPHROSYNE_DATA_DIR=$(DATA_DIR) \
		SOPHROSYNE_LOG_FORMAT=$${SOPHROSYNE_LOG_FORMAT:-console} \
		$(BIN)/sophrosyne serve --config-dir demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

# pytest exits 5 when it collects no tests; that is not a failure of the code.
unit: install system-deps
	$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

test: lint typecheck contracts unit

bench: install system-deps
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
