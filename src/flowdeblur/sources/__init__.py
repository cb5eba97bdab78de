"""Weight sources: what drives the conditioned layers (motion, image content, or nothing)."""
