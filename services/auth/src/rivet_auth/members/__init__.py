"""Members of an organization: roles, deactivation, reactivation."""
