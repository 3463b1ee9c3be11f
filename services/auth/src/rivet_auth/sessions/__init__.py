"""Login, refresh-token rotation with reuse detection, logout and login throttling."""
