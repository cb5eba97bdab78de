"""Multi-process training: launch checks, SLURM requeue resumption, process-group teardown."""
