"""Streaming video and frame-folder I/O for inference on a user's footage."""
