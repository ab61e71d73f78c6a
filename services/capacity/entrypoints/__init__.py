"""Capacity entrypoints: the HTTP API and the event consumer dispatch."""
