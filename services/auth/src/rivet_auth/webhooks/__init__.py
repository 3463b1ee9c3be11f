"""Mail to an organization's admins about its webhook endpoints (``webhook.endpoint_disabled``)."""
