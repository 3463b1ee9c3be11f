"""The organization's own settings: name, time zone, working hours."""
