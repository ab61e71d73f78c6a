"""The three sharefab services: orders, capacity, matcher."""
