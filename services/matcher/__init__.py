"""sharefab matcher: plans open steps onto idle capacity windows, cluster by cluster."""
