"""Rivet attachments service: photos and files on work orders and equipment."""
