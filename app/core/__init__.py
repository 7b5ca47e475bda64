"""The kernel every domain and blueprint stands on: configuration, extensions, the database
set-up, access rules and security headers, htmx, languages and money formatting, time
(Europe/Paris), spreadsheets and downloads, mail outbox, rate limits, the association's settings,
and the one way a view handles a form. It imports no domain.
"""
