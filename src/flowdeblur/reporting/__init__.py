"""Reports over the jobs of a sweep: collect metrics.json, aggregate over seeds, compare with a baseline."""
