"""API keys: creation, storage as SHA-256 only, and the scope/site check on admin routes."""
