# flowdeblur: every target installs what is missing first (a fresh clone needs only `make train` / `make test`).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.install-stamp
TORCH_VERSION := 2.13.0
SWEEP ?= ablation_encoder
DIR ?=
ARGS ?=

.PHONY: install train test test-slow bench sweep report eval infer lint clean

install: $(STAMP)

# torch is pinned and installed first (a CPU build where one is available); the constraints file then keeps it,
# and refuses torchvision/torchaudio, while the project and its dependencies install.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==$(TORCH_VERSION)
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m flowdeblur.metrics.lpips.fetch || echo "LPIPS weights unavailable: LPIPS will be reported as unavailable"
	touch $(STAMP)

train: $(STAMP)
	$(PY) -m flowdeblur.train $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow $(ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run $(ARGS)

sweep: $(STAMP)
	$(PY) -m flowdeblur.train -m +sweep=$(SWEEP) $(ARGS)

report: $(STAMP)
	$(PY) -m flowdeblur.report $(DIR) $(ARGS)

eval: $(STAMP)
	$(PY) -m flowdeblur.eval $(ARGS)

infer: $(STAMP)
	$(PY) -m flowdeblur.infer $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) outputs multirun wandb .pytest_cache .ruff_cache src/*.egg-info
