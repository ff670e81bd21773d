"""Ed25519 signing keys, JWKS and compact JWS receipts (pure Python on ``cryptography``)."""
