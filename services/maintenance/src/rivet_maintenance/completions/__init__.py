"""Completions: what a plan's work order becoming completed or cancelled does to the plan."""
