"""Fixture writers for make-basicsr-fixtures.py: one module per kind, each with write(out_dir)."""
