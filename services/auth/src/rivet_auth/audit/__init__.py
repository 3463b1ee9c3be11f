"""The security audit log of an organization: who signed in, failed to, changed a password,
a role, an account or an invitation."""
