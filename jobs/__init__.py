"""Thin job entry points: parse args, read, transform, validate, write. One module per command."""
