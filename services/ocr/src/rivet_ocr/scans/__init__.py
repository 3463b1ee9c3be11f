"""Scans: a photo's way from upload to fields to an asset."""
