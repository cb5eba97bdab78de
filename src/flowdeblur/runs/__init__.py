"""Run bookkeeping: run dirs, job status, the end-of-run summary, user errors as one line."""
