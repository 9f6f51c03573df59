"""Silences: Alertmanager-style matchers and a time window in which matching firing alerts
are stored and grouped but trigger no automation (recorded on each alert, never dropped)."""
