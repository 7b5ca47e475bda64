from flask import redirect, render_template, url_for
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash

from app.blueprints.auth import bp
from app.blueprints.auth.forms import LoginForm
from app.extensions import db
from app.models import User
from app.security import PUBLIC, ROLES, access


@bp.route("/connexion", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(db.select(User).where(User.email == form.login.data.strip().lower()))
        if user and user.is_enabled and check_password_hash(user.password_hash, form.password.data):
            login_user(user)
            return redirect(url_for("public.index"))
        form.password.errors.append("wrong")
    return render_template("auth/login.html", form=form)


@bp.post("/deconnexion")
@access(*ROLES)
def logout():
    logout_user()
    return redirect(url_for("public.index"))
