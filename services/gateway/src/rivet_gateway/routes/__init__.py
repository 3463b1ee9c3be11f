"""HTTP routes, one module per service."""
