"""Logging: one JSON line per entry, with every credential redacted."""
