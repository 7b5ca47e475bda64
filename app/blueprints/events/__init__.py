"""Events: the list, each event's page with its registration form and carpool board, the
private page of a registration, the organisers' lists and the calendar feeds."""

from flask import Blueprint

bp = Blueprint("events", __name__)
