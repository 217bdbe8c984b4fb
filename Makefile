# Two commands do all the set-up on a fresh Debian machine with Python 3.11:
#   make demo   - the backoffice on SQLite with demo data, at http://127.0.0.1:5000/admin/
#   make test   - every test (set BACKOFFICE_TEST_DATABASE_URL to run on PostgreSQL too)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEV_ENV = BACKOFFICE_ENV=development

.PHONY: demo run test lint translations screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) || { echo "Python's venv module is missing: apt-get install python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,serve]"
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(DEV_ENV) $(BIN)/backoffice db upgrade
	$(DEV_ENV) $(BIN)/backoffice demo
	$(DEV_ENV) $(BIN)/backoffice run --debug --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# Refresh the documentation's screenshots from the browser journeys (tests alone
# write theirs to a temporary folder and never touch the tree).
screenshots: $(STAMP)
	BACKOFFICE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser -q

lint: $(STAMP)
	$(BIN)/ruff check .

# Extract every gettext string, merge into the Hindi catalog, compile.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location \
		--project Sadasya -o backoffice/translations/messages.pot .
	$(BIN)/pybabel update -i backoffice/translations/messages.pot \
		-d backoffice/translations -l hi --no-fuzzy-matching
	$(BIN)/pybabel compile -d backoffice/translations -D messages -l hi
	$(BIN)/pybabel compile -d backoffice/translations -D admin -l hi
	$(BIN)/pybabel compile -d backoffice/translations -D wtforms -l hi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
