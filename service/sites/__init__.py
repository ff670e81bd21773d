"""Sites: the websites whose visitors give consent, with their categories and settings."""
