"""The Python package the three sharefab services share.

Event contracts, settings base, Kafka producer/consumer, transactional outbox and inbox, JWT auth,
problem+json errors and database helpers. It never imports a service.
"""
