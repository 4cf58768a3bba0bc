# Two commands: `make run` (the whole product with demo data) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-dates lint translations messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when a requirements file changed.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# axe-core (pinned in package-lock.json) for the browser tests' accessibility checks; skipped
# when npm is missing (the axe tests then skip too, except in CI where .ci/run installs npm).
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --ignore-scripts; \
	else echo "npm not found: accessibility checks will be skipped"; fi

translations: $(VENV)/.installed
	@if ls webapp/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d webapp/translations; fi

run: $(VENV)/.installed translations
	$(BIN)/python scripts/run_demo.py

test: $(VENV)/.installed translations node_modules/.package-lock.json
	$(BIN)/python scripts/run_tests.py

# The date-sensitive tests (marked `dates`) with the clock moved to the next 1st of a month,
# 23:30 Tokyo on a month's last day, 31 December 15:30 UTC and the eve of a US DST change.
test-dates: $(VENV)/.installed translations node_modules/.package-lock.json
	$(BIN)/python scripts/run_test_dates.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .

bench: $(VENV)/.installed translations
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
	rm -rf node_modules
	find . -name __pycache__ -prune -exec rm -rf {} +

# Re-extract the Japanese msgids and merge them into the English catalog (then translate).
# --ignore-dirs: Babel's default also skips folders starting with "_", templates/_macros too.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* __pycache__ node_modules" -o webapp/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching
