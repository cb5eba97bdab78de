"""Checkpoints and weight files: read safely, write atomically, resume, export."""
