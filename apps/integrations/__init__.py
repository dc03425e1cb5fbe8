"""Integrations: connectors to external systems, the outbox of service calls, retries and breakers."""
