"""The capacity service: clusters, factories, machines, capacity windows and reservations."""
