"""The words a consent is written in, defined once: document kinds, actions, methods, and the
shape of a subject id. Pure Python, so the offline verifier and every feature import the same
lists (the schemas, the models' check constraints, the statistics, the CLI choices)."""

from __future__ import annotations

import re

# Every kind of versioned document; a consent names the version of each one in force.
DOCUMENT_KINDS = ("privacy", "terms", "cookies", "banner")
# The kinds that are policies with a hosted page (the banner text is not one).
POLICY_KINDS = ("privacy", "terms", "cookies")

# opt_out / opt_in: of the sale and sharing of personal data (opt-out regions, jurisdictions)
ACTIONS = (
    "accept_all", "reject_all", "custom", "withdraw", "acknowledge", "opt_out", "opt_in",
)  # fmt: skip
# placeholder: a blocked element's button granted its categories (widget v2)
METHODS = ("banner", "preferences", "gpc", "api", "placeholder")

# A subject is the pseudonymous id the widget makes for a visitor.
SUBJECT_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"
SUBJECT = re.compile(SUBJECT_PATTERN)
