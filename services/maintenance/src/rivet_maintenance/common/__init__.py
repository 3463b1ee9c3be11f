"""What the request handlers of several domains share: the asset and assignee checks (asked of
the assets and auth services) and the errors they answer with."""
