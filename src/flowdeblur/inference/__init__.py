"""Restoring frames of any size: whole, or in strips equal to whole frames."""
