# Hamacho. The two commands: `make run` (the app on http://localhost:8501 with the demo data) and `make test`.
# Variables: PYTHON (interpreter that creates the venv), VENV, HAMACHO_HOME (workspace folder), PORT.

PYTHON ?= python3
VENV ?= .venv
HAMACHO_HOME ?= $(CURDIR)/workspace
PORT ?= 8501
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-cjk
POSTGRES_PACKAGES := postgresql
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

export HAMACHO_HOME

.PHONY: run test test-fast screenshots venv demo browser postgres lint clean

run: demo
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

# Everything CI runs: lint, then all test layers (the browser tests need the apt-get step of `browser`).
test: venv browser postgres
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra --durations=25 tests

# The quick layers (unit + app, no browser install, no sudo): what a developer runs while working.
test-fast: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra tests/unit tests/app tests/test_delivery.py

# Refresh the README's pictures in docs/screenshots/ (the tests themselves save theirs in a temporary folder).
screenshots: venv browser
	HAMACHO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/e2e/test_workbench.py \
	  tests/e2e/test_workbench_decisions.py tests/e2e/test_review_loop.py

venv: $(STAMP)

# Re-installs when a requirements file or pyproject.toml changes; otherwise nothing to do.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements-dev.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

demo: venv
	test -d "$(HAMACHO_HOME)/demo/good" || $(BIN)/python -m hamacho_core demo "$(HAMACHO_HOME)/demo"

# Debian's Chromium and ChromeDriver for the browser tests (and Japanese fonts for their screenshots).
browser:
	dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(BROWSER_PACKAGES); }

# Debian's PostgreSQL server binaries for the results-store tests (they start their own server in a temporary folder;
# the package's own cluster service is not needed).
postgres:
	dpkg -s $(POSTGRES_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(POSTGRES_PACKAGES); }

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
