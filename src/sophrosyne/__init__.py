"""Sophrosyne: alert-driven automation and incident response.

Importing the package does nothing: engines, settings and clients are built by factories in
the composition roots (``app``, ``worker``) and the CLI.
"""

__version__ = "0.1.0"
