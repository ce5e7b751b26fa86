# Two-command set-up: `make demo` and `make test` each create .venv if missing,
# install what they need (torch pinned by constraints.txt), then run.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q -c constraints.txt
DEMO_EXTRAS := demo
TEST_EXTRAS := demo,vlm,dinov2,segment,viz,bench,dev

.PHONY: demo test lint typecheck unit system-deps clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip setuptools wheel

# open3d needs libusb at import time; install it when we are root and it is missing.
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 \
	   && ! ldconfig -p 2>/dev/null | grep -q libusb-1.0; then \
	  echo "installing libusb-1.0-0 (needed by open3d)"; \
	  (apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1)) \
	  || echo "warning: could not install libusb-1.0-0; open3d features will be unavailable"; \
	fi

$(VENV)/.demo-installed: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[$(DEMO_EXTRAS)]"
	touch $@

$(VENV)/.test-installed: $(PY) pyproject.toml constraints.txt
	$(PIP) -e ".[$(TEST_EXTRAS)]"
	touch $@

demo: system-deps $(VENV)/.demo-installed
	$(VENV)/bin/rekep demo --out out/demo

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check rekep keypoints solvers vlm_prompts tests examples

typecheck: $(VENV)/.test-installed
	$(VENV)/bin/mypy

unit: $(VENV)/.test-installed
	$(VENV)/bin/pytest -q

test: system-deps lint typecheck unit

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
