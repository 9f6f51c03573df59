"""Confirmations: runs that wait for people to approve them, pinned to what will run."""
