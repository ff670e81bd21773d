"""Versioned legal documents: drafts, immutable published versions, diffs and the banner config."""
