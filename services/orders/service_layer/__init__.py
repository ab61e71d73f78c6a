"""Orders service layer: command and event handlers over an abstract unit of work."""
