"""Small helpers with no better home: atomic file writes."""
