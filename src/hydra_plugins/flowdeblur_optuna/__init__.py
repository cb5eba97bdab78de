"""Hydra plugin of flowdeblur: a resumable Optuna sweeper (``src/flowdeblur/conf/hparams_search/optuna.yaml``)."""
