"""Adapters to the outside world that run actions. Executors never touch the database."""
