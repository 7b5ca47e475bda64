"""Blueprints, one package per area."""
