"""Hydra plugin of flowdeblur: a resumable Optuna sweeper (``conf/hparams_search/optuna.yaml``)."""
