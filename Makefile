# photoprop — two commands do all set-up on a fresh Debian 12 machine:
#   make demo   the main job on the embedded default (local Dask cluster, shipped cache/)
#   make test   the fast test suite
# Both install what they need on first use, idempotently, into two environments:
#   .venv          the core: current numpy / scipy / xarray, no system site packages
#   .venv-solvers  the solver interpreter: Debian's python3-meep (MPB included), tidy3d,
#                  scikit-fem; every solver run goes there (PHOTOPROP_SOLVER_PYTHON).
SHELL  := /bin/bash
VENV   := .venv
SVENV  := .venv-solvers
PY     := $(VENV)/bin/python
SPY    := $(SVENV)/bin/python
STAMP  := $(VENV)/.photoprop-installed
SSTAMP := $(SVENV)/.photoprop-installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONWARNINGS := ignore:The value of the smallest subnormal:UserWarning

.PHONY: setup demo test test-slow test-cluster bench docs clean-venv

setup: $(STAMP)

# Debian's meep/mpb (python3-meep) and python3-venv, installed only when missing.
$(SPY):
	@dpkg -s python3-meep python3-venv >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-meep python3-venv; }
	/usr/bin/python3 -m venv --system-site-packages $(SVENV)

# The caps live here, where they are needed: Debian's meep module is compiled against
# numpy 1.x; tidy3d 2.10 pins h5netcdf 1.0.2, through which xarray >= 2026.9 cannot read.
$(SSTAMP): pyproject.toml | $(SPY)
	$(SPY) -m pip install -q --upgrade "pip>=24"
	$(SPY) -m pip install -q -e ".[solvers,dev]" "numpy<2" "xarray<2026.9"
	$(SPY) -c "import meep, meep.mpb, tidy3d, skfem, pipeline" >/dev/null 2>&1
	touch $(SSTAMP)

$(PY): | $(SPY)
	/usr/bin/python3 -m venv $(VENV)

$(STAMP): pyproject.toml $(SSTAMP) | $(PY)
	@if grep -qs "include-system-site-packages = true" $(VENV)/pyvenv.cfg; then \
	  echo "$(VENV) sees the system site packages (an older layout): rebuilding it as the core"; \
	  rm -rf $(VENV) && /usr/bin/python3 -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[dev,interop,fast,docs]"
	# torch for the torch die adapter (extra `torch`): 2.13.0 is the CPU build; a bare `torch` would
	# pull a multi-GB CUDA build. Any torch >= 2.4 works with pipeline.interop.torch_die.
	$(PY) -m pip install -q "torch==2.13.0"
	echo "$(abspath $(SPY))" > $(VENV)/photoprop-solver-python
	$(PY) -c "import numpy, pipeline; assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/photoprop run

# The core tests run in .venv (their solver runs go to .venv-solvers); the few tests that
# import a solver package in-process (marker solver_env) run in .venv-solvers itself.
# PHOTOPROP_REQUIRE_SOLVERS=1: a test needing a solver fails (not skips) if it is missing.
test: $(STAMP)
	PHOTOPROP_REQUIRE_SOLVERS=1 $(PY) -m pytest -q -m "not slow and not cluster and not solver_env"
	PHOTOPROP_REQUIRE_SOLVERS=1 $(SPY) -m pytest -q -p no:cacheprovider -m "solver_env and not slow"

test-slow: $(STAMP)
	PHOTOPROP_REQUIRE_SOLVERS=1 $(PY) -m pytest -q -m "slow and not solver_env"
	PHOTOPROP_REQUIRE_SOLVERS=1 $(SPY) -m pytest -q -p no:cacheprovider -m "slow and solver_env" || [ $$? = 5 ]

test-cluster: $(STAMP)
	$(PY) -m pytest -q -m cluster

bench: $(STAMP)
	for b in cache_load mesh gradient_noise workflows; do $(PY) benchmarks/bench_$$b.py || exit 1; done

# The documentation site (mkdocs.yml, docs/) into build/site/; warnings are errors.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean-venv:
	rm -rf $(VENV) $(SVENV)
