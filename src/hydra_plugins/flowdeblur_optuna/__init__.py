"""Hydra plugin of flowdeblur: an Optuna sweeper with persistent, resumable studies and pruning
(``hydra/sweeper=flowdeblur_optuna``, selected by ``hparams_search=optuna``)."""
