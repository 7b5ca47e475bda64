from flask import render_template

from app.blueprints.public import bp
from app.security import PUBLIC, access


@bp.get("/")
@access(PUBLIC)
def index():
    return render_template("public/index.html")


@bp.get("/healthz")
@access(PUBLIC)
def healthz():
    """Liveness check for the load balancer and the benchmarks: touches no database."""
    return {"status": "ok"}


@bp.get("/confidentialite")
@access(PUBLIC)
def privacy():
    return render_template("public/index.html")


@bp.route("/adherer", methods=["GET", "POST"])
@access(PUBLIC)
def apply():
    return render_template("public/index.html")
