# The two commands of the README:
#   make book   set up .venv and build the Jupyter Book on the embedded default data
#   make test   set up .venv and run the whole test suite
# CI (.ci/run and .github/workflows/) runs lint, test, execute and book.
# Variables: PYTHON (interpreter for the venv), VENV, TORCH_INDEX (a PyTorch wheel
# index, e.g. https://download.pytorch.org/whl/cu128 for a CUDA build).

PYTHON ?= python3
VENV ?= .venv
TORCH_INDEX ?=
LOCK := requirements/lock-cpu.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# make execute: the smoke grid through papermill, then every chapter re-executed
# with papermill into $(EXECUTED) (the repository's notebooks stay untouched).
SMOKE_SWEEP = $(BIN)/sedlib sweep --grid smoke --dataset synthetic-small --device cpu --notebook book/03_training.ipynb
EXECUTED ?= _build/executed

.PHONY: setup book test execute lint format lock clean distclean help

help:
	@echo "make book    set up $(VENV) and build the book into _build/html"
	@echo "make test    set up $(VENV) and run the test suite"
	@echo "make execute run the smoke grid and re-execute every chapter with papermill"
	@echo "make lint    ruff check and format check"
	@echo "make lock    re-pin $(LOCK) from the current $(VENV)"
	@echo "make clean   remove _build;  make distclean: also $(VENV)"

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) tools/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
ifneq ($(TORCH_INDEX),)
	$(BIN)/python -m pip install --quiet torch==$$(sed -n 's/^torch==//p' $(LOCK)) --index-url $(TORCH_INDEX)
	grep -v '^torch==' $(LOCK) > $(VENV)/lock-without-torch.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/lock-without-torch.txt
else
	$(BIN)/python -m pip install --quiet -r $(LOCK)
endif
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	$(BIN)/python -m sedlib check
	@touch $@

book: $(STAMP)
	$(BIN)/python tools/build_book.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

execute: $(STAMP)
	$(SMOKE_SWEEP)
	rm -rf $(EXECUTED) && mkdir -p $(EXECUTED)
	for notebook in book/*.ipynb; do \
	  $(BIN)/python tools/run_papermill.py --cwd book --no-progress-bar "$$notebook" "$(EXECUTED)/$$(basename $$notebook)" \
	  || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(STAMP)
	@{ head -3 $(LOCK); $(BIN)/python -m pip freeze --all --exclude-editable \
	  | grep -v -E '^(pip|sedlib)==' | sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)

clean:
	rm -rf _build .pytest_cache .ruff_cache

distclean: clean
	rm -rf $(VENV)
