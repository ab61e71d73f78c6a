"""Orders entrypoints: the HTTP API and the event consumer's dispatch."""
