"""The tasks domain: work for people, created from recommendations."""
