# Two commands for a fresh machine:
#   make serve   set up, ingest the bundled sample articles, start the API on http://127.0.0.1:8000
#   make test    set up, run the whole test suite (what .ci/run calls)
VENV ?= .venv
PY := $(VENV)/bin/python
INDEX ?= .kabar/index
PORT ?= 8000

CHROMIUM ?= /usr/bin/chromium

.PHONY: setup serve test clean browser

setup: $(VENV)/.installed

# The widget tests drive a real Chromium (never `playwright install`: no downloads at test time).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "no $(CHROMIUM): run 'apt-get install chromium' as root for the widget tests"; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch is installed on its own, pinned, so nothing can pull a multi-GB CUDA build.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

serve: setup
	$(VENV)/bin/kabar ingest data/samples --index $(INDEX)
	$(VENV)/bin/kabar serve --index $(INDEX) --port $(PORT)

test: setup browser
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$rc

clean:
	rm -rf $(VENV) .kabar .pytest_cache
