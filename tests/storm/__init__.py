"""The recorded 10,000-alert storm, replayed through the ingest API."""
