"""Network architectures, one per module."""
