"""The equipment registry: create-or-match, reads, changes, retirement, history."""
