"""Outbound webhooks: an organization's exported events POSTed to its endpoints, signed per
Standard Webhooks, at least once, never to an internal address (docs/integrations.md)."""
