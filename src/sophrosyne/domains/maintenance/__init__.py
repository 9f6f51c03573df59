"""Maintenance windows: one-off or recurring times in which firing alerts on the targets (or
matching the matchers) in scope are stored and grouped but trigger no automation, and the
worker starts no automatic run on those targets (recorded, never dropped)."""
