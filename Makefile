# photoprop — two commands do all set-up on a fresh Debian 12 machine:
#   make demo   the main job on the embedded default (local Dask cluster, shipped cache/)
#   make test   the fast test suite
# Both install what they need on first use, idempotently.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.photoprop-installed
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONWARNINGS := ignore:The value of the smallest subnormal:UserWarning

.PHONY: setup demo test test-slow test-cluster bench clean-venv

setup: $(STAMP)

# Debian's meep/mpb (python3-meep) and python3-venv, installed only when missing.
$(PY):
	@dpkg -s python3-meep python3-venv >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-meep python3-venv; }
	/usr/bin/python3 -m venv --system-site-packages $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[solvers,dev]"
	$(PY) -c "import meep, meep.mpb, tidy3d, pipeline" >/dev/null 2>&1
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/photoprop run

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

test-cluster: $(STAMP)
	$(PY) -m pytest -q -m cluster

bench: $(STAMP)
	for b in cache_load mesh gradient_noise workflows; do $(PY) benchmarks/bench_$$b.py || exit 1; done

clean-venv:
	rm -rf $(VENV)
