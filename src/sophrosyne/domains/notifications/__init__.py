"""Notification channels, routes, message records and escalation policies."""
