"""NATS JetStream helpers: connection, topology, publishing, pull workers, dead letters."""
