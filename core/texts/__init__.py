"""All user-facing texts, one module per language with the same keys (tests/test_texts.py)."""
