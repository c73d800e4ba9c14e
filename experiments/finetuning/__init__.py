"""SYRAC experiments, addressed by name (see experiments/__init__.py)."""
