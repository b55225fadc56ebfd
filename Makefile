# Municipal citizen assistant. `make help` lists the targets; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
# Python 3.10 from PATH (pyenv reads .python-version), else from pyenv's versions folder.
PYTHON310 ?= $(shell command -v python3.10 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | tail -n1)
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: audit structure help setup browser-setup services services-stop train run chat test test-fast bench-language bench-content bench-sentences bench-load bench-safety lock clean nlu-check nlu-evaluate bench-nlu

help: ## list the targets
	@echo "Targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMPS)/venv: requirements.txt
	@if [ -z "$(PYTHON310)" ] || ! "$(PYTHON310)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "Python 3.10 is needed (Rasa 3.6 runs on nothing newer)."; \
	  echo "Install it with pyenv ('pyenv install 3.10.13'; .python-version selects it) or your system's"; \
	  echo "packages (e.g. 'apt-get install python3.10 python3.10-venv'), or point PYTHON310=/path/to/python3.10."; \
	  exit 1; fi
	test -x $(PY) || "$(PYTHON310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.2
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip check
	@mkdir -p $(STAMPS) && touch $@

setup: $(STAMPS)/venv ## create .venv with Python 3.10 and the pinned dependencies

# Browser tests: Debian's chromium (never a browser download) and axe-core from the npm registry.
$(STAMPS)/browser: $(STAMPS)/venv
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	test -f $(VENV)/axe/node_modules/axe-core/axe.min.js || \
	  npm install --prefix $(VENV)/axe --no-audit --no-fund --no-save --silent axe-core@4.14.1
	@touch $@

browser-setup: $(STAMPS)/browser ## install what the browser tests need (Debian chromium, axe-core)

services: setup ## start PostgreSQL and Redis for the tests on loopback (installs Debian's packages if missing)
	$(PY) -m tools.services start

services-stop: ## stop the PostgreSQL and Redis that `make services` started
	@if [ -x $(PY) ]; then $(PY) -m tools.services stop; fi

train: setup ## train a model unless one matches the current data (models/assistant-<hash>.tar.gz)
	$(PY) -m bot train

run: setup ## set up what is missing, train if needed, start the Rasa server and the action server
	$(PY) -m bot run

chat: setup ## chat in the terminal with the assistant that `make run` started
	$(PY) -m bot chat

test: setup $(STAMPS)/browser services ## set up, start PostgreSQL and Redis, train if needed, and run every test (unit, NLU gate, conversations, end-to-end, browser)
	$(PY) -m bot nlu check
	$(PY) -m bot train
	$(PY) -m pytest -ra

test-fast: setup ## run the tests that need no trained model and no servers
	$(PY) -m pytest -ra -m "not slow and not e2e"

nlu-check: setup ## check the NLU data, domain and held-out examples (line-numbered problems; exit 1 on errors)
	$(PY) -m bot nlu check

nlu-evaluate: setup ## train the NLU, measure it per language on tests/nlu, compare with the last report
	$(PY) -m bot nlu evaluate

bench-nlu: setup ## NorSID intents: the project's NLU pipeline against a char n-gram SVM, per dialect
	$(PY) benchmarks/nlu.py

bench-language: setup ## language identification on the UD benchmark: ours against plain lingua
	$(PY) benchmarks/language.py

bench-content: setup ## SweFAQ answer ranking (ours, BM25, char n-grams) and search speed on 10,000 passages
	$(PY) benchmarks/content.py

bench-safety: setup ## safety layer on tests/safety: recall, false alarms and misses per language, beside the classifier and the word lists alone
	$(PY) -m bot train
	$(PY) -m bot safety evaluate

bench-sentences: setup ## sentence splitting: spaCy's sentencizer against the regex splitter
	$(PY) benchmarks/sentences.py

bench-load: setup ## REST load: our assistant on 1 and 2 servers against Rasa's starter bot (BENCH_LOAD_ARGS="--help")
	$(PY) benchmarks/load.py $(BENCH_LOAD_ARGS)

structure: setup ## how bot/ is built: largest module and function, import cycles, in-function imports, wording in Python
	$(PY) tools/structure.py

# pip-audit gets a venv of its own: its dependencies must never move Rasa's pins.
AUDIT_VENV := .venv-audit
$(STAMPS)/audit-venv:
	test -x $(AUDIT_VENV)/bin/pip-audit || { "$(PYTHON310)" -m venv $(AUDIT_VENV) && \
	  $(AUDIT_VENV)/bin/pip install --quiet --disable-pip-version-check pip-audit==2.10.1; }
	@mkdir -p $(STAMPS) && touch $@

audit: $(STAMPS)/audit-venv ## known vulnerabilities in requirements.txt (pip-audit in .venv-audit); exit 2 if no advisory service answers
	$(AUDIT_VENV)/bin/python tools/audit.py $(AUDIT_VENV)/bin/pip-audit requirements.txt

lock: setup ## re-pin requirements.txt from requirements.in (then run make test)
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip check
	$(PY) -m pip freeze --all --exclude-editable | grep -v -E '^pip==' > requirements.txt

clean: services-stop ## stop the test services; remove the virtual environment, trained models and local state (var/)
	rm -rf $(VENV) $(AUDIT_VENV) $(STAMPS) models/*.tar.gz var .rasa results
