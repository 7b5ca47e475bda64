"""The back office for coordinators and the treasurer (admins only, with a second factor)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
