"""The site scanner: what each page of a site does before and after a consent choice.

``cookiedb`` classifies cookies and hosts with the vendored Open Cookie Database.
"""
