"""Database plumbing: the declarative base, column types, engine factory, and every dialect branch.

Dialect-specific SQL (SQLite vs PostgreSQL) lives in this package only.
"""
