"""The one-shot import of a Rivet Pro database (``rivet-dev import rivet-pro``)."""
