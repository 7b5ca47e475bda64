"""gunicorn's settings read from the project's root (gunicorn loads ./gunicorn.conf.py itself).

The access log masks the private links (`/activation/<token>`, ...): app/core/accesslog.py.
"""

logger_class = "app.core.accesslog.PrivateLinkLogger"
