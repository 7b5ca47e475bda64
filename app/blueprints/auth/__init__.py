"""Signing in and out, activation, password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
