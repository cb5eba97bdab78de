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

.PHONY: install train pretrain-flow test test-slow bench gpu-check sweep ablation report eval infer lint clean

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

# the builtin flow weights (model.flow.weights=pwc_synthetic) from conf/pretrain_flow.yaml; docs/results.md
pretrain-flow: $(STAMP)
	$(PY) -m flowdeblur.pretrain_flow output=src/flowdeblur/flow/weights/pwc_synthetic.safetensors $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow $(ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run $(ARGS)

# On a GPU machine whose python has torch (CUDA) and the packages listed in benchmarks/gpu_check.py: no install.
GPU_PYTHON ?= python3
gpu-check:
	PYTHONPATH=src $(GPU_PYTHON) -m benchmarks.gpu_check $(ARGS)

sweep: $(STAMP)
	$(PY) -m flowdeblur.train -m +sweep=$(SWEEP) $(ARGS)

# The central ablation in three resumable parts (docs/results.md, "How the ablation is run"): a learning-rate grid
# on validation (conf/sweep/ablation_cpu_lr.yaml, choices in <dir>/lr/choices.txt), then every variant at its
# chosen rate and five seeds at two budgets (short, long), then one report paired by seed against tcsvt at each
# budget, Holm-corrected; last, every trained model evaluated on the out-of-distribution camera-shake data
# (data=synthetic_ood) and reported the same way (<dir>/ood). ABLATION=quick runs the minutes-scale grid (conf/sweep/ablation_quick*.yaml). The same
# command resumes: completed jobs in $(ABLATION_DIR) are not run again (after a code change, start over in another
# ABLATION_DIR).
ABLATION ?= full
ABLATION_DIR ?= outputs/ablation/$(ABLATION)
ABLATION_SWEEP := $(if $(filter quick,$(ABLATION)),ablation_quick,ablation_cpu)
ABLATION_STEPS ?= $(if $(filter quick,$(ABLATION)),100 300,900 2700)
ABLATION_TRAIN := OMP_NUM_THREADS=1 $(PY) -m flowdeblur.train -m
ablation: $(STAMP)
	$(PY) -m flowdeblur.runs.overall $(ABLATION_DIR) "+sweep=$(ABLATION_SWEEP)_lr $(ARGS)" \
	  "$(words $(ABLATION_STEPS) $(ABLATION_STEPS))*+sweep=$(ABLATION_SWEEP) $(ARGS)"
	$(ABLATION_TRAIN) +sweep=$(ABLATION_SWEEP)_lr trainer.max_steps=$(firstword $(ABLATION_STEPS)) \
	  hydra.sweep.dir=$(ABLATION_DIR)/lr $(ARGS)
	$(PY) -m flowdeblur.report $(ABLATION_DIR)/lr --stage val --baseline experiment=tcsvt --tuned optim.optimizer.lr
	for steps in $(ABLATION_STEPS); do \
	  while read -r choice; do \
	    name=$${choice%% *}; \
	    $(ABLATION_TRAIN) +sweep=$(ABLATION_SWEEP) $$choice trainer.max_steps=$$steps \
	      hydra.sweep.dir=$(ABLATION_DIR)/$$steps/$${name#experiment=} $(ARGS) || exit 1; \
	  done < $(ABLATION_DIR)/lr/choices.txt; \
	done
	$(PY) -m flowdeblur.report $(foreach n,$(ABLATION_STEPS),$(ABLATION_DIR)/$(n)) --out $(ABLATION_DIR)/report \
	  --baseline experiment=tcsvt --tuned optim.optimizer.lr
	$(PY) -m flowdeblur.eval -m data=synthetic_ood hydra.sweep.dir=$(ABLATION_DIR)/ood \
	  ckpt_path=$$(ls $(foreach n,$(ABLATION_STEPS),$(ABLATION_DIR)/$(n)/*/*/checkpoints/last.ckpt) | paste -sd, -)
	$(PY) -m flowdeblur.report $(ABLATION_DIR)/ood --baseline experiment=tcsvt

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

# JupyterLab and nbconvert (the [notebooks] extra) on demand
NOTEBOOKS_STAMP := $(VENV)/.notebooks-stamp
$(NOTEBOOKS_STAMP): $(STAMP)
	$(PIP) install --quiet -c constraints.txt -e '.[notebooks]'
	touch $(NOTEBOOKS_STAMP)

notebooks: $(NOTEBOOKS_STAMP)
	$(PY) notebooks/render.py $(ARGS)

lab: $(NOTEBOOKS_STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(ARGS)

.PHONY: help notebooks lab
# Typical durations on 2 CPU cores (idle machine; a busy one is slower).
HELP_ROW := "  %-10s %-72s %s\n"
help:
	@echo 'make <target> [ARGS="..."]: every target first installs what is missing into .venv (~2 min, once)'
	@printf $(HELP_ROW) install "venv, torch $(TORCH_VERSION) (CPU), the project with [dev], LPIPS weights" "~2 min"
	@printf $(HELP_ROW) train "train the default experiment; ARGS: Hydra overrides -> outputs/train/" "~9 min"
	@printf $(HELP_ROW) "" "smoke run: ARGS=\"data=synthetic_tiny trainer.max_steps=20\"" "seconds-minutes"
	@printf $(HELP_ROW) pretrain-flow "retrain the shipped flow weights (model.flow.weights=pwc_synthetic)" "~8 min"
	@printf $(HELP_ROW) test "the test suite without the slow tests" "~5-10 min"
	@printf $(HELP_ROW) test-slow "only the slow tests" "> 10 min"
	@printf $(HELP_ROW) lint "ruff check, ruff format --check, mypy" "~1 min"
	@printf $(HELP_ROW) bench "ops, training, 720p, ops per step, compile, data stream -> outputs/bench" "~20 min"
	@printf $(HELP_ROW) gpu-check "on a CUDA machine, no install: kernels, training, 720p, DDP, compile" "~8 min (GPU)"
	@printf $(HELP_ROW) sweep "a grid of runs, SWEEP=$(SWEEP) (15 jobs) -> multirun/<date>/<time>" "> 1 h"
	@printf $(HELP_ROW) ablation "the central ablation (lr on validation, 2 budgets, 5 seeds), resumable; ABLATION=quick" "~18 h / ~30 min"
	@printf $(HELP_ROW) report "compare runs: DIR=\"<run dirs, sweep dirs, folders, 'globs'>\"" "seconds"
	@printf $(HELP_ROW) eval "evaluate a checkpoint: ARGS=\"ckpt_path=...\" -> outputs/eval/" "~1 min"
	@printf $(HELP_ROW) infer "restore a video: ARGS=\"input=... output=... ckpt_path=...\"" "seconds per frame"
	@printf $(HELP_ROW) notebooks "execute notebooks/*.ipynb -> outputs/notebooks/*.html" "~2-5 min"
	@printf $(HELP_ROW) lab "open the notebooks in JupyterLab" "seconds"
	@printf $(HELP_ROW) clean "remove .venv, outputs, multirun and caches" "seconds"
