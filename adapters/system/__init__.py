"""Adapters to the host system (time)."""
