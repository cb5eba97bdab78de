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

.PHONY: install train test test-slow bench sweep ablation report eval infer lint clean

install: $(STAMP)

# torch is pinned and installed first (a CPU build where one is available); the constraints file then keeps it,
# and refuses torchvision/torchaudio, while the project and its dependencies install. A venv made before the
# project had its own Optuna sweeper loses hydra-optuna-sweeper (it pins Optuna < 3).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==$(TORCH_VERSION)
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	$(PIP) uninstall --quiet --yes hydra-optuna-sweeper 2>/dev/null || true
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

# The central ablation at the 2-core CPU budget of conf/sweep/ablation_cpu.yaml (about an hour), then its report
# (paired by seed against tcsvt) in the sweep dir; docs/results.md shows how its table was made.
ABLATION_STARTED := $(shell date +%Y-%m-%d_%H-%M-%S)
ABLATION_DIR ?= outputs/ablation/$(ABLATION_STARTED)
ablation: $(STAMP)
	$(PY) -m flowdeblur.train -m +sweep=ablation_cpu hydra.sweep.dir=$(ABLATION_DIR) $(ARGS)
	$(PY) -m flowdeblur.report $(ABLATION_DIR) --baseline experiment=tcsvt

report: $(STAMP)
	$(PY) -m flowdeblur.report $(DIR) $(ARGS)

eval: $(STAMP)
	$(PY) -m flowdeblur.eval $(ARGS)

infer: $(STAMP)
	$(PY) -m flowdeblur.infer $(ARGS)

# every check runs (all problems at once); the target fails if any of them does
lint: $(STAMP)
	@status=0; \
	$(VENV)/bin/ruff check src tests benchmarks || status=1; \
	$(VENV)/bin/ruff format --check src tests benchmarks || status=1; \
	$(VENV)/bin/mypy src || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) outputs multirun wandb .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
