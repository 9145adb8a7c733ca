"""One mapping of the error tree per inbound transport: HTTP, WebSocket, JetStream."""
