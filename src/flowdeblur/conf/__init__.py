"""Hydra config tree of flowdeblur, read as package data (``pkg://flowdeblur.conf``) by the console scripts."""
