# tlslesson — developer and CI entry points (GNU make).
#
#   make lab     JupyterLab on notebooks/ (venv with the lesson extra)
#   make test    unit tests, then every notebook under nbval (venv with lesson + test extras)
#   make fuzz    the fuzz-marked tests with TLSLESSON_FUZZ_EXAMPLES=100000
#   make bench   python benchmarks/bench.py (speed against OpenSSL; a development tool, not in the wheel)
#   make clean   remove .venv and caches
#
# The venv is made once; a stamp per extras set makes re-runs skip pip until pyproject.toml changes.

PYTHON      ?= python3
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP_FLAGS   ?= -q --disable-pip-version-check --progress-bar off
PYTEST_ARGS ?=
LAB_ARGS    ?=
BENCH_ARGS  ?=

# JupyterLab refuses to start as root without --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

STAMP_LESSON := $(VENV)/.installed-lesson
STAMP_TEST   := $(VENV)/.installed-lesson-test

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test fuzz bench clean venv

venv: $(PY)

$(PY):
	@echo "==> creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(STAMP_LESSON): pyproject.toml | $(PY)
	@echo "==> pip install -e '.[lesson]'"
	$(PY) -m pip install $(PIP_FLAGS) -e '.[lesson]'
	@touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	@echo "==> pip install -e '.[lesson,test]'"
	$(PY) -m pip install $(PIP_FLAGS) -e '.[lesson,test]'
	@touch $@ $(STAMP_LESSON)

lab: $(STAMP_LESSON)
	$(VENV)/bin/jupyter lab notebooks/ --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) $(LAB_ARGS)

# Both runs always execute; the target fails if either failed. pytest's exit 5 ("no tests
# collected", e.g. PYTEST_ARGS deselected every notebook cell) is accepted for the notebook run only.
test: $(STAMP_TEST)
	@rc=0; \
	echo "==> pytest -q tests $(PYTEST_ARGS)"; \
	$(PY) -m pytest -q tests $(PYTEST_ARGS) || rc=1; \
	if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  echo "==> pytest -q --nbval-lax notebooks $(PYTEST_ARGS)"; \
	  $(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks $(PYTEST_ARGS); \
	  nrc=$$?; \
	  if [ $$nrc -eq 5 ]; then echo "(no notebook cells selected)"; elif [ $$nrc -ne 0 ]; then rc=1; fi; \
	else \
	  echo "==> no notebooks/*.ipynb: notebook run skipped"; \
	fi; \
	exit $$rc

fuzz: $(STAMP_TEST)
	TLSLESSON_FUZZ_EXAMPLES=100000 $(PY) -m pytest tests -m fuzz --timeout=0 $(PYTEST_ARGS)

bench: $(STAMP_TEST)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
	find . -path ./.git -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
