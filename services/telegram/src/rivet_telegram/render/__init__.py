"""Messages as Telegram HTML. Every value that comes from a user, a service or the OCR goes
through ``esc`` (after clipping, so an entity is never cut in half); only these templates
contain markup."""
