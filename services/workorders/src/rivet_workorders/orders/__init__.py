"""Work orders: the lifecycle state machine, creation, changes, comments and listings."""
