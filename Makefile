# The two commands of the README: `make demo` and `make test`. Each does its own set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CHROMIUM := $(shell command -v chromium 2>/dev/null)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup widget browser services lint bench

$(BIN)/consentry: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/consentry

widget/node_modules/.package-lock.json: widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund
	touch $@

# Builds service/static/widget.js (also committed, so a plain pip install ships it).
widget: widget/node_modules/.package-lock.json
	cd widget && npm run build

browser:
ifndef CHROMIUM
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
endif

demo: setup widget
	$(BIN)/consentry demo

test: setup widget browser
	@# The bundle is committed (pip installs ship it): a fresh build must not change it.
	@if [ -d .git ] && ! git diff --quiet -- service/static/widget.js; then \
		echo "service/static/widget.js differs from a fresh build: commit the rebuilt bundle"; exit 1; fi
	cd widget && npm test
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -m "not slow"
	# Fault and crash suites, bounded (docs/performance.md), one at a time: the crash suite
	# restarts PostgreSQL, which must not cut the connections of tests running beside it.
	$(BIN)/pytest -m slow

lint: setup
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/lint-imports
