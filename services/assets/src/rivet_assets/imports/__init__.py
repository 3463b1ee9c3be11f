"""CSV import: every row through create-or-match, every outcome recorded."""
