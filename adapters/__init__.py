"""Outgoing infrastructure: event store configuration, Kafka, notification channels, clock."""
