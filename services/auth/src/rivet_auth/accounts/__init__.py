"""Organizations, users and invitations."""
