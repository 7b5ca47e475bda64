"""Public pages: how it works, communes, FAQ, shops, applying to join, privacy."""

from flask import Blueprint

bp = Blueprint("public", __name__)
