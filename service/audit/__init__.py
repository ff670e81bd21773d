"""Audit: query, export, proof bundles, offline verification, erasure, retention, statistics."""
