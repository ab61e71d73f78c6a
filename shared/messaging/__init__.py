"""Kafka producer/consumer, transactional outbox with its relay, and the inbox."""
