# Developer and CI tasks for centrifugo-proto (GNU make).
#
#   make test    lint, then the whole test suite against a real Centrifugo
#                (v6, and 1.8.0 for the 1.x dialect)
#   make demo    run examples/quickstart.py against a throw-away Centrifugo
#   make lint    ruff (lint + format check) and mypy --strict
#   make docs    the documentation site into site/ (MkDocs, warnings as errors)
#   make bench   the benchmarks against the peers on a real Centrifugo (not a test)
#
# Every target sets up what it needs: the virtualenv in .venv/, the Centrifugo
# binary in .cache/bin/ and the Centrifugo 1.8.0 binary in .cache/legacy/ (all
# ignored by git) are created on first use and reused afterwards.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# --- Python -----------------------------------------------------------------

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install; re-made when pyproject.toml changes.
VENV_STAMP := $(VENV)/.stamp
# The strict editable install links each package file into build/__editable__.*
# one by one, so a module added later is invisible until the next install.
# This list of package files is rewritten only when the set of files changes
# (not on edits), and the install depends on it.
PACKAGE_FILES_LIST := $(VENV)/.package-files

# --- Centrifugo ---------------------------------------------------------------

# The server version the integration tests are pinned to.
CENTRIFUGO_VERSION := v6.9.1
CENTRIFUGO_MODULE := github.com/centrifugal/centrifugo/v6
CENTRIFUGO_DIR := $(CURDIR)/.cache/bin
CENTRIFUGO_BIN := $(CENTRIFUGO_DIR)/centrifugo
# Holds the version the binary next to it was built from.
CENTRIFUGO_STAMP := $(CENTRIFUGO_DIR)/centrifugo.version

# --- Centrifugo 1.8.0 (the 1.x dialect) -------------------------------------------

# The last 1.x release, built by the kit's build.sh from the release's own
# dependency pins (the kit's README says how). The kit is only read, never
# written into; override its place with `make LEGACY_SERVER_KIT=DIR ...`.
LEGACY_SERVER_KIT ?= $(CURDIR)/../shared/legacy-server
LEGACY_VERSION := v1.8.0
LEGACY_DIR := .cache/legacy
LEGACY_BIN := $(CURDIR)/$(LEGACY_DIR)/centrifugo
# build.sh writes it only after a successful build.
LEGACY_STAMP := $(LEGACY_DIR)/centrifugo.version

# --- Lint scope ---------------------------------------------------------------

# Only the directories that exist, so the target works while the tree grows.
LINT_DIRS := $(wildcard centrifugo_proto adapters tests examples scripts fuzz bench)
# mypy stops with an error on a directory without Python files (adapters/ before
# the first adapter lands), so it gets only those that have some.
MYPY_DIRS := $(foreach d,centrifugo_proto adapters,$(if $(wildcard $(d)/*.py),$(d)))

# --- The protobuf runtime range --------------------------------------------------

# The oldest and newest protobuf runtimes the `protobuf` extra allows (pyproject.toml):
# `make test-protobuf-range` runs the Protobuf codec's unit and property tests on each,
# in a small virtualenv of its own under .cache/protobuf-range/ (built on first use).
# 3.8.0 is the oldest release that imports on Python 3.10+ (older ones use
# collections.MutableMapping) and has only the pure-Python runtime; the newest has
# upb, and is also run with the pure-Python one. Raise PROTOBUF_NEWEST, and the
# extra's upper bound, when a new major release passes.
PROTOBUF_OLDEST := 3.8.0
PROTOBUF_NEWEST := 7.36.2
PROTOBUF_RANGE := .cache/protobuf-range
PROTOBUF_RANGE_TESTS := tests/unit/test_protobuf_codec.py tests/property/test_protobuf_decoding.py
# What those tests import besides protobuf; the package itself is read from the source
# tree (PYTHONPATH), so nothing needs building.
PROTOBUF_RANGE_DEPS := pytest pytest-timeout hypothesis cryptography 'attrs>=23.1' \
  'wsproto>=1.2' 'h11>=0.14'

# --- Fuzzing -------------------------------------------------------------------

# One harness per parser plus the whole client (fuzz/README.md). New inputs found go
# to .cache/fuzz/<target>/ (the seed corpus in fuzz/corpus/ is only read), crashes to
# .cache/fuzz/<target>-crash-*.
FUZZ_TARGETS := fuzz_json_codec fuzz_protobuf_codec fuzz_websocket fuzz_client fuzz_fossil \
  fuzz_caller fuzz_legacy_codec fuzz_websocket_fast
FUZZ_WORK := .cache/fuzz
# make fuzz: each harness this many seconds (CI: about two minutes in all).
FUZZ_SECONDS ?= $(if $(filter true,$(CI)),40,10)
# make fuzz-long: executions per harness, 17 million in total, all of them at once on
# two cores: the codec harness ran at about 1700 exec/s there, the framing one at 170
# (1535 since the layer reads the common frames itself) and the whole client at 70
# (alone on a core: 17000, 350, 190), so this takes about
# an hour and a half; the cheap parser carries the bulk. The delta decoder ran at 3260
# exec/s alone on a busy machine: its 2 million take 10 to 20 minutes of one core. The
# caller harness ran at about 830 exec/s on a busy machine: 1 million, about 20 minutes;
# the 1.x codec harness at about 69000 exec/s: 2 million in under a minute; the
# Protobuf codec's at about 7160 exec/s on a busy machine: 2 million, 5 to 10 minutes.
# The WebSocket differential harness (four layers per input, whole and cut) ran at about
# 420 exec/s (200 on a busier machine): 500,000 take 20 to 40 minutes of one core.
FUZZ_LONG_RUNS := fuzz_json_codec:9200000 fuzz_websocket:500000 fuzz_client:300000 \
  fuzz_fossil:2000000 fuzz_caller:1000000 fuzz_legacy_codec:2000000 \
  fuzz_protobuf_codec:2000000 fuzz_websocket_fast:500000
FUZZ_FLAGS := -max_len=16384 -print_final_stats=1

.PHONY: help venv docs docs-serve centrifugo legacy-server redis lint test test-protobuf-range demo clean \
  distclean fuzz fuzz-long FORCE bench bench-setup bench-profile

help:
	@echo "make test       lint, unit + property tests (coverage gate), integration; CI: fuzz"
	@echo "make demo       run examples/quickstart.py against a local Centrifugo"
	@echo "make lint       ruff check, ruff format --check, mypy --strict"
	@echo "make docs       build the documentation site into site/ (warnings are errors)"
	@echo "make docs-serve the site on http://127.0.0.1:8000, rebuilt on every edit"
	@echo "make test-protobuf-range  the Protobuf codec's tests on the oldest and newest protobuf"
	@echo "make fuzz       every fuzz harness, time-boxed (FUZZ_SECONDS each)"
	@echo "make fuzz-long  the fuzz harnesses for 17 million executions in all (not in CI)"
	@echo "make bench      benchmarks against centrifuge-python and centrifuge-js (BENCH_QUICK=1)"
	@echo "make bench-profile  profile this client's subscriber on the flood (py-spy)"
	@echo "make venv       create/refresh the virtualenv in $(VENV)/"
	@echo "make centrifugo build Centrifugo $(CENTRIFUGO_VERSION) into .cache/bin/"
	@echo "make legacy-server build Centrifugo $(LEGACY_VERSION) into $(LEGACY_DIR)/ (1.x tests)"
	@echo "make redis      install Debian's redis-server if missing (the Redis engine tests)"
	@echo "make clean      remove caches and build output (keeps the Centrifugo binary)"
	@echo "make distclean  clean, and also remove $(VENV)/ and .cache/"

# --- Set-up ---------------------------------------------------------------------

venv: $(VENV_STAMP)

# pip >= 25.1 is needed for `--group`; the strict editable mode makes the
# installed package visible to mypy and other static tools (see DESIGN.md).
$(VENV_STAMP): pyproject.toml $(PACKAGE_FILES_LIST)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=strict -e '.[trio]'
	$(BIN)/python -m pip install --quiet --group dev
	touch $@

$(PACKAGE_FILES_LIST): FORCE
	@mkdir -p $(@D)
	@find centrifugo_proto adapters -type f \( -name '*.py' -o -name py.typed \) | LC_ALL=C sort > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

# Rebuilt when the binary is missing or was built from another version. The
# stamp is written only after `go install` succeeded, so an interrupted build
# is retried on the next run.
centrifugo:
	@if [ -x "$(CENTRIFUGO_BIN)" ] && \
	    [ "$$(cat "$(CENTRIFUGO_STAMP)" 2>/dev/null)" = "$(CENTRIFUGO_VERSION)" ]; then \
	  echo "centrifugo $(CENTRIFUGO_VERSION) is up to date in .cache/bin"; \
	else \
	  command -v go >/dev/null || { echo "Go >= 1.26 is needed to build Centrifugo" >&2; exit 1; }; \
	  echo "building centrifugo $(CENTRIFUGO_VERSION) into .cache/bin (first time: a few minutes)"; \
	  mkdir -p "$(CENTRIFUGO_DIR)"; \
	  rm -f "$(CENTRIFUGO_STAMP)"; \
	  CGO_ENABLED=0 GOBIN="$(CENTRIFUGO_DIR)" go install $(CENTRIFUGO_MODULE)@$(CENTRIFUGO_VERSION); \
	  echo "$(CENTRIFUGO_VERSION)" > "$(CENTRIFUGO_STAMP)"; \
	fi

# Rebuilt when the binary is missing or its stamp is not $(LEGACY_VERSION). Without
# the kit: outside CI a notice, and the 1.x integration tests skip saying what is
# missing; in CI (CI=true) an error, as those tests must run there.
legacy-server:
	@if [ -x "$(LEGACY_BIN)" ] && \
	    [ "$$(cat "$(LEGACY_STAMP)" 2>/dev/null)" = "$(LEGACY_VERSION)" ]; then \
	  echo "centrifugo $(LEGACY_VERSION) is up to date in $(LEGACY_DIR)"; \
	elif [ ! -f "$(LEGACY_SERVER_KIT)/build.sh" ]; then \
	  if [ "$(CI)" = true ]; then \
	    echo "legacy-server: the Centrifugo $(LEGACY_VERSION) build kit is missing:" \
	      "no build.sh in $(LEGACY_SERVER_KIT) (set LEGACY_SERVER_KIT=DIR);" \
	      "CI runs the 1.x integration tests and needs it" >&2; \
	    exit 1; \
	  fi; \
	  echo "legacy-server: the Centrifugo $(LEGACY_VERSION) build kit is missing:" \
	    "no build.sh in $(LEGACY_SERVER_KIT) (set LEGACY_SERVER_KIT=DIR);" \
	    "the 1.x integration tests will skip"; \
	else \
	  echo "building centrifugo $(LEGACY_VERSION) into $(LEGACY_DIR) (first time: about a minute)"; \
	  bash "$(LEGACY_SERVER_KIT)/build.sh" $(LEGACY_DIR); \
	fi

# The resilience tests run Centrifugo on a Redis engine; the harness starts
# redis-server itself (tests/harness/redis.py). Debian's package is installed
# when no redis-server is on PATH (needs root, as in CI). The package's own
# service is not used: the harness runs a private one on a free loopback port.
redis:
	@command -v redis-server >/dev/null || \
	  { echo "installing Debian's redis-server (first time only)"; \
	    apt-get update && apt-get install -y --no-install-recommends redis-server; }
	@redis-server --version

# --- Checks ---------------------------------------------------------------------

# ruff over every Python directory; mypy --strict over the library, over the
# test harness and the script that uses it (imported as `harness` from tests/), over
# bench/ (its scripts import each other as top-level modules), and over the typed
# usage example (every public method of every adapter, each result with its precise
# type: tests/typed_usage.py), over the examples the docs show, and over the docs'
# griffe extensions.
lint: venv
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)
	$(BIN)/mypy --strict $(MYPY_DIRS)
	MYPYPATH=tests $(BIN)/mypy --strict tests/harness scripts/with_centrifugo.py
	MYPYPATH=tests $(BIN)/mypy --strict $(wildcard bench/*.py)
	$(BIN)/mypy --strict tests/typed_usage.py
	$(BIN)/mypy --strict examples
	$(BIN)/ruff check docs/_griffe_rst.py docs/_griffe_twins.py
	$(BIN)/ruff format --check docs/_griffe_rst.py docs/_griffe_twins.py
	$(BIN)/mypy --strict docs/_griffe_rst.py docs/_griffe_twins.py

# Lint first (a prerequisite; with -j it runs beside the Centrifugo build),
# then the suite in three stages: unit and property tests under coverage, with the gate (100 %
# branch coverage of centrifugo_proto/ from those two alone); then everything
# else (integration against the real server, docs); then, in CI, every fuzz
# harness for a short while (make fuzz). A PYTEST_ARGS filter that selects
# nothing in a stage fails it (pytest's exit 5, "no tests collected", fails the
# target like any other failure).
# Extra pytest arguments: make test PYTEST_ARGS='-x -k rpc'
PYTEST_ARGS ?=
# The adapter-policy tests build their clients without a codec choice (JSON only):
# they are not the core's, and stay out of the second-codec pass.
UNIT_ONLY_JSON := --ignore=tests/unit/test_base_client.py --ignore=tests/unit/test_base_legacy.py
test: venv centrifugo legacy-server redis lint
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest tests/unit tests/property $(PYTEST_ARGS)
	$(BIN)/coverage report
	@echo "the core's unit suite again, with the second codec written in the tests (binary frames)"
	CENTRIFUGO_TEST_CODEC=binary-json $(BIN)/pytest tests/unit -q $(UNIT_ONLY_JSON) $(PYTEST_ARGS)
	@echo "the core's unit suite again, through the Protobuf codec (tests/protobuf_json.py)"
	CENTRIFUGO_TEST_CODEC=protobuf $(BIN)/pytest tests/unit -q $(UNIT_ONLY_JSON) $(PYTEST_ARGS)
	$(MAKE) test-protobuf-range
	CENTRIFUGO_BIN="$(CENTRIFUGO_BIN)" CENTRIFUGO_LEGACY_BIN="$(LEGACY_BIN)" \
	  CENTRIFUGO_LEGACY_KIT="$(LEGACY_SERVER_KIT)" $(BIN)/pytest tests \
	  --ignore=tests/unit --ignore=tests/property $(PYTEST_ARGS)
	@if [ "$(CI)" = true ]; then $(MAKE) fuzz; else echo "make fuzz: in CI only here (run it by hand)"; fi

# A virtualenv per end of the range, stamped with what it holds; each is rebuilt when
# its version changes. The tests then run on it against the source tree.
$(PROTOBUF_RANGE)/%/.stamp:
	rm -rf $(PROTOBUF_RANGE)/$*
	$(PYTHON) -m venv $(PROTOBUF_RANGE)/$*
	$(PROTOBUF_RANGE)/$*/bin/python -m pip install --quiet --upgrade pip
	$(PROTOBUF_RANGE)/$*/bin/python -m pip install --quiet $(PROTOBUF_RANGE_DEPS) 'protobuf==$*'
	touch $@

test-protobuf-range: $(PROTOBUF_RANGE)/$(PROTOBUF_OLDEST)/.stamp \
    $(PROTOBUF_RANGE)/$(PROTOBUF_NEWEST)/.stamp
	@for run in $(PROTOBUF_OLDEST):python $(PROTOBUF_NEWEST):default $(PROTOBUF_NEWEST):python; do \
	  version=$${run%%:*}; impl=$${run#*:}; py=$(PROTOBUF_RANGE)/$$version/bin/python; \
	  env=PYTHONPATH=$(CURDIR); \
	  if [ $$impl = python ]; then env="$$env PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python"; fi; \
	  echo "protobuf $$version, the $$(env $$env $$py -c 'from google.protobuf.internal \
	    import api_implementation as a; print(a.Type())') runtime:"; \
	  env $$env $$py -m pytest -q -p no:cacheprovider $(PROTOBUF_RANGE_TESTS) $(PYTEST_ARGS); \
	done

# Time-boxed, one harness after the other; any crash fails the target.
fuzz: venv
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_WORK)/$$target; \
	  echo "fuzz: $$target for $(FUZZ_SECONDS) s"; \
	  $(BIN)/python fuzz/$$target.py $(FUZZ_WORK)/$$target fuzz/corpus/$$target \
	    -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(FUZZ_WORK)/$$target- $(FUZZ_FLAGS) \
	    > $(FUZZ_WORK)/$$target.log 2>&1 \
	    || { tail -n 40 $(FUZZ_WORK)/$$target.log; exit 1; }; \
	  grep -aE '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	    $(FUZZ_WORK)/$$target.log || true; \
	done

# Every harness at once until each has run its executions (FUZZ_LONG_RUNS); logs in
# .cache/fuzz/<target>-long.log. An hour and more: never part of make test.
fuzz-long: venv
	@pids=""; for pair in $(FUZZ_LONG_RUNS); do \
	  target=$${pair%%:*}; runs=$${pair#*:}; \
	  mkdir -p $(FUZZ_WORK)/$$target; \
	  echo "fuzz-long: $$target for $$runs executions"; \
	  $(BIN)/python fuzz/$$target.py $(FUZZ_WORK)/$$target fuzz/corpus/$$target \
	    -runs=$$runs -artifact_prefix=$(FUZZ_WORK)/$$target- $(FUZZ_FLAGS) \
	    > $(FUZZ_WORK)/$$target-long.log 2>&1 & pids="$$pids $$!"; \
	done; status=0; for pid in $$pids; do wait $$pid || status=1; done; \
	for target in $(FUZZ_TARGETS); do \
	  echo "$$target:"; grep -E '^(Done|stat::)' $(FUZZ_WORK)/$$target-long.log || true; \
	done; exit $$status

demo: venv centrifugo
	CENTRIFUGO_BIN="$(CENTRIFUGO_BIN)" \
	  $(BIN)/python scripts/with_centrifugo.py $(BIN)/python examples/quickstart.py

# --- Documentation -----------------------------------------------------------------

# MkDocs with the Material theme (mkdocs.yml); the reference is generated from the
# docstrings (mkdocstrings) of the installed package, so the venv comes first. The
# docs tools are in the dev dependency group. --strict: any warning (a broken link, a
# page missing from the nav, a docstring the reference cannot read) fails the build.
# tests/test_docs.py builds the site too, so make test checks it in CI.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs
docs: venv
	$(MKDOCS) build --strict
	@echo "the site is in site/ (open site/index.html)"

docs-serve: venv
	$(MKDOCS) serve --strict

# --- Benchmarks -------------------------------------------------------------------

# make bench: this client against centrifuge-python 0.7.0 and centrifuge-js on a real
# Centrifugo (bench/README.md). Each side gets its own environment in the ignored cache,
# rebuilt when missing or when what it is made from changed:
#   .cache/bench/centrifugo-proto/    this project (installed from the tree), matplotlib, py-spy
#   .cache/bench/centrifuge-python/   centrifuge-python 0.7.0 and its pinned dependencies
#   bench/js/node_modules/            centrifuge-js and ws, from the committed lock file
# BENCH_QUICK=1 is the short development run; results go to bench/results/, the
# write-up to docs/benchmarks.md and docs/benchmarks/*.png. Never part of make test.
BENCH_CACHE := .cache/bench
BENCH_VENV := $(BENCH_CACHE)/centrifugo-proto
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.stamp
CFPY_VENV := $(BENCH_CACHE)/centrifuge-python
CFPY_STAMP := $(CFPY_VENV)/.stamp
BENCH_JS := bench/js
BENCH_JS_STAMP := $(BENCH_JS)/node_modules/.stamp
# Every file of the installed package: an edit reinstalls it into the bench environment.
PACKAGE_SOURCES := $(shell find centrifugo_proto adapters -type f -name '*.py' 2>/dev/null)
BENCH_ARGS ?=

bench-setup: centrifugo $(BENCH_STAMP) $(CFPY_STAMP) $(BENCH_JS_STAMP)

# A plain (not editable) install: the benchmark measures the package as users get it.
# The extras that do not exist yet are skipped by pip with a warning.
$(BENCH_STAMP): pyproject.toml bench/requirements.txt $(PACKAGE_SOURCES) $(PACKAGE_FILES_LIST)
	test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install --quiet --upgrade pip
	$(BENCH_PY) -m pip install --quiet -r bench/requirements.txt
	$(BENCH_PY) -m pip install --quiet '.[trio]'
	touch $@

$(CFPY_STAMP): bench/requirements-centrifuge-python.txt
	test -x $(CFPY_VENV)/bin/python || $(PYTHON) -m venv $(CFPY_VENV)
	$(CFPY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CFPY_VENV)/bin/python -m pip install --quiet -r bench/requirements-centrifuge-python.txt
	touch $@

# npm ci installs exactly the lock file; protobufjs's install script only prints advice.
$(BENCH_JS_STAMP): $(BENCH_JS)/package.json $(BENCH_JS)/package-lock.json
	command -v node >/dev/null || { echo "Node.js >= 18 is needed for centrifuge-js" >&2; exit 1; }
	cd $(BENCH_JS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

bench: bench-setup
	CENTRIFUGO_BIN="$(CENTRIFUGO_BIN)" BENCH_CFPY_PYTHON="$(CURDIR)/$(CFPY_VENV)/bin/python" \
	  $(BENCH_PY) bench/run.py $(BENCH_ARGS)
	$(BENCH_PY) bench/report.py

# Flooded, then paced; bench/results/profile*.{json,txt}, shown by the next make bench's
# report. Extra arguments: make bench-profile PROFILE_ARGS='--adapter trio'
PROFILE_ARGS ?=
bench-profile: bench-setup
	CENTRIFUGO_BIN="$(CENTRIFUGO_BIN)" $(BENCH_PY) bench/profile.py $(PROFILE_ARGS)
	CENTRIFUGO_BIN="$(CENTRIFUGO_BIN)" $(BENCH_PY) bench/profile.py --paced $(PROFILE_ARGS)

# --- Cleaning -------------------------------------------------------------------

# build/ holds the editable install's links: removing it drops the venv stamp
# so that the next target re-installs.
clean:
	rm -rf $(VENV_STAMP) build dist site *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis \
	  .coverage .coverage.* htmlcov
	find . -path ./.venv -prune -o -path ./.cache -prune -o \
	  -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .cache

FORCE:
