"""Shoal: the Python SDK (generated stubs in shoal.v1, the client, the CLI)."""

__version__ = "v0.1.0"
