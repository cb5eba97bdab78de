"""Names of the user attributes the sweeper and the jobs' pruning callback store in each Optuna trial."""

INTERRUPTED = "interrupted"  # True: RUNNING when its sweep process died; marked FAIL, its parameters proposed again
RETRY_OF = "retry_of"  # the number of the interrupted trial this one repeats
PRUNED_AT_STEP = "pruned_at_step"  # the optimizer step at which the pruner stopped the training
STEPS_RUN = "steps_run"  # optimizer steps the training ran (so far, while it runs)
STEPS_PLANNED = "steps_planned"  # optimizer steps the training would run without pruning
JOB_DIR = "job_dir"  # the trial's Hydra job dir (its metrics.json, checkpoints, logs)
MACS = "macs"  # multiply-accumulates of one forward pass at the validation crop (from metrics.json)
