"""The member's own space (/compte): balance, history, contribution, card, PIN, personal data.

Every page works on the signed-in member only: no member id ever appears in a URL.
"""

from flask import Blueprint

bp = Blueprint("account", __name__)
