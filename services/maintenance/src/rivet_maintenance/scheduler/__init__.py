"""The scheduler: jobs that record the occurrences of calendar plans as they fall due and open
the work orders of recorded occurrences through the work-order service."""
