"""Photo intake: refuse what is not a photo, defuse what could hurt, keep a clean copy."""
