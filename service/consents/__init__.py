"""Recording consent: the append-only, hash-chained, signed ledger of consent events."""
