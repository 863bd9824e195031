"""Benchmarks and the chaos run (not part of CI). Each script runs with one command from the repo root,
e.g. ``python bench/ack_latency.py``; see BENCHMARKS.md for the commands and the recorded numbers."""
