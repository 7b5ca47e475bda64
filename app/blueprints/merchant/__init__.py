"""The merchant's cash register at `/caisse`: identify a member, debit a sale, cancel it,
read the day's sales and report. For cashiers of a conventioned merchant only."""

from flask import Blueprint

bp = Blueprint("merchant", __name__)
