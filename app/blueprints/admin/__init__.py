"""The back office for coordinators and the treasurer (admins only, with a second factor).

One way to write a back-office page:

- views in `views_<area>.py` (listed in `routes.py`), forms in `forms.py`;
- every view renders with `app.core.htmx.render(page, partial=None, status=..., **context)`:
  the page, or its partial `_name.html` for an htmx request, with `Vary: HX-Request`; a view
  without a partial passes none, so that adding one later changes no other line;
- templates in `app/templates/admin/` extend `admin/_layout.html` (the sub-navigation, marked by
  `admin_section`) and are styled by `app/static/css/admin.css` alone.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__)
