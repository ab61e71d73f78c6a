"""How the world reaches the matcher: HTTP routes, the event consumer, the planning loop."""
