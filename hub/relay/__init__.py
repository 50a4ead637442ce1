"""The outbox relay: every stored event published to Kafka, in order, nothing lost (SPEC P2)."""
