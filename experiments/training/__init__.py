"""SYRAC experiments, addressed by name (see syrac.registry)."""
