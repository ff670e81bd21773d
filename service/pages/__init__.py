"""Server-rendered pages and operational endpoints (health check)."""
