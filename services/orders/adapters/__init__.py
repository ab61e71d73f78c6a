"""Orders adapters: SQLAlchemy models, repositories and the unit of work."""
