# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=wsgi.py $(BIN)/flask
PO := translations/fr/LC_MESSAGES/messages.po
MO := translations/fr/LC_MESSAGES/messages.mo

.PHONY: run test lint bench translations i18n-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the requirements change (a second `make run` starts in seconds).
$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.run-installed $@

$(MO): $(PO) | $(VENV)/.run-installed
	$(BIN)/pybabel compile -d translations

translations: $(MO)

run: $(VENV)/.run-installed $(MO)
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) ssa seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.dev-installed $(MO)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The linter and the formatter's check, as CI runs them (`ruff format .` fixes the layout).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev-installed $(MO)
	$(BIN)/python -m bench

# Extract the msgids and merge them into the French catalogue (locked: several people may run it).
i18n-update: $(VENV)/.run-installed
	flock /tmp/patias-i18n.lock sh -c '$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot app && $(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --no-wrap'

clean:
	rm -rf $(VENV) instance/*.sqlite3* instance/static-build
