"""Integration tests of the orders service over HTTP on SQLite and PostgreSQL."""
