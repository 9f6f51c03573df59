"""Incidents: related alerts grouped, with a lifecycle, a timeline and a post-mortem."""
