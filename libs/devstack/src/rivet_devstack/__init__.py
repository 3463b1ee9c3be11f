"""Developer tooling: embedded servers, run-all and test launchers."""
