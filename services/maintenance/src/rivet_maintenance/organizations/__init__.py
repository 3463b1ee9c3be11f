"""Organizations: the replica of each organization's time zone, in which its plans are due."""
