"""The register on a real server, as the load and crash tests and `python -m bench.register` run
it: gunicorn with the production settings in a process group of its own (so that a crash test can
kill -9 all of it), a database prepared with merchants, cashiers and members with a balance (file
SQLite, or a PostgreSQL database of its own), and `flask ssa verify-ledger` run as an operator
would."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "patias-demo"  # every cashier's
PIN = "4826"  # every member's


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn started in its own process group, so that a crash test can kill all of it."""

    process: subprocess.Popen
    base_url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def kill(self) -> None:
        """kill -9 of the master and every worker, mid-request."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )


def start_server(
    database_url: str,
    env: dict[str, str],
    *,
    workers: int = 2,
    threads: int = 8,
    factory: str = "create_app()",
    port: int | None = None,
    log_path: Path | None = None,
    access_log: bool = True,
    module: str = "app",
) -> Server:
    """Start gunicorn on `database_url` and wait until /healthz answers."""
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkstemp(prefix="register-server-", suffix=".log")[1])
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--graceful-timeout",
        "5",
        "--timeout",
        "60",
    ]
    if access_log:
        command += ["--access-logfile", "-"]
    command.append(f"{module}:{factory}")
    environment = {**os.environ, **env, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    handle = open(log_path, "ab")  # noqa: SIM115 - the server writes to it until it stops
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited with {process.returncode}:\n{server.log()[-3000:]}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    server.stop()
    raise RuntimeError(f"gunicorn did not answer /healthz:\n{server.log()[-3000:]}")


def production_env() -> dict[str, str]:
    return {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PIN_PEPPER": secrets.token_urlsafe(48),
        "SESSION_COOKIE_SECURE": "false",
        "MAIL_BACKEND": "console",
    }


# --- the database ----------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the clients need to know about the prepared database."""

    cashiers: list[tuple[int, str]]  # (user id, e-mail)
    members: list[tuple[int, str]]  # (member id, number)
    balance_cents: int
    category_ids: list[int]


def prepare_database(
    database_url: str,
    *,
    cashiers: int,
    members: int,
    balance_cents: int,
    pin_pepper: str,
    merchants: int = 4,
) -> Fixture:
    """Schema, reference data, conventioned merchants with cashiers, members with a balance."""
    from app import create_app
    from app.core.extensions import db
    from app.ledger import transfers as ledger
    from app.members import cards
    from app.members.auth import hash_password
    from app.members.models import Member, User
    from app.merchants.models import Category, Merchant
    from app.setup.install import load_reference_data

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, PIN_PEPPER=pin_pepper)
    with app.app_context():
        db.create_all()
        load_reference_data()
        categories = list(db.session.scalars(db.select(Category).order_by(Category.id)))[:2]
        shops = []
        from datetime import date

        from app.members.models import Commune

        commune = db.session.scalars(db.select(Commune)).first()
        for n in range(merchants):
            shop = Merchant(
                name=f"Bench {n}",
                kind="producer",
                commune_id=commune.id,
                status="active",
                conventioned_since=date(2025, 1, 1),
                categories=categories,
            )
            db.session.add(shop)
            shops.append(shop)
        db.session.flush()
        password = hash_password(PASSWORD)
        users = []
        for n in range(cashiers):
            user = User(
                email=f"bench-caisse{n}@patias.test",
                password_hash=password,
                role="cashier",
                display_name=f"Caisse {n}",
                merchant_id=shops[n % merchants].id,
            )
            db.session.add(user)
            users.append(user)
        people = []
        for n in range(members):
            user = User(
                email=f"bench-membre{n}@patias.test",
                password_hash="",
                role="member",
                display_name=f"M{n}",
            )
            db.session.add(user)
            db.session.flush()
            member = Member(
                number=cards.member_number(n + 1),
                pseudonym=f"m-bench{n:06d}",
                user_id=user.id,
                first_name=f"Membre{n}",
                last_name="Banc",
                status="active",
                card_token=cards.new_card_token(),
                pin_hash=cards.hash_pin(PIN),
            )
            db.session.add(member)
            people.append(member)
        db.session.flush()
        for member in people:
            ledger.transfer(
                source=ledger.system_account("caisse"),
                destination=ledger.member_account(member),
                amount_cents=balance_cents,
                kind="allocation",
                period="2099-01",
            )
        db.session.commit()
        fixture = Fixture(
            cashiers=[(u.id, u.email) for u in users],
            members=[(m.id, m.number) for m in people],
            balance_cents=balance_cents,
            category_ids=[c.id for c in categories],
        )
        db.session.remove()
        db.engine.dispose()
    return fixture


def create_postgres_database(base_url: str) -> tuple[str, callable]:
    """A new empty PostgreSQL database on the server of `base_url`, and a function that drops it."""
    import psycopg
    from sqlalchemy import make_url

    url = make_url(base_url)
    name = f"patias_register_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def verify_ledger(
    database_url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`flask ssa verify-ledger` on that database, as an operator would run it."""
    environment = {
        **os.environ,
        **(env or {}),
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi.py",
        "FLASK_CONFIG": "testing",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "ssa", "verify-ledger"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
