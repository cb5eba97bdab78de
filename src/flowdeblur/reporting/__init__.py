"""Reports over the jobs of a sweep: collect metrics.json files, aggregate over seeds, compare to a baseline."""
