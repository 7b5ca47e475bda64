"""Bank statements: read the CSV a bank exports, match credits to members, record them once.

Convention: a member paying by transfer writes `PATIAS` and their member number in the transfer's
label (for example `PATIAS 000018`); the number's check digit rules out most typos. A row is
matched when its label holds exactly one such valid number of an existing member.

Files: UTF-8 (with or without BOM) or Windows-1252 (what French banks and Excel export); `;`, `,`
or tab as separator; a header row naming a date, an amount (or separate debit and credit
columns) and a label. Dates as 05/03/2026, 05/03/26, 05-03-2026, 05.03.2026 or 2026-03-05;
amounts as 1 234,56, 1234.56, +15,00 or 15,00 €. Debits (negative amounts) are listed and ignored.
Credits above the manual form's maximum (`MAX_AMOUNT_CENTS`) and dates in the future are listed
for attention, not recorded. A credit of a member with the amount and date of a contribution
already recorded by hand is a probable duplicate: listed, not recorded (the treasurer records it
by hand if it really is a second payment).

Nothing is recorded before the preview is confirmed. The preview's matched rows travel signed
(itsdangerous) to the confirmation, so what is recorded is what was shown. Each row is recorded
with an idempotency key made from its content (date, amount, label, and its rank among identical
rows), so importing the same statement again, or an overlapping one, records nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select

from app.audit import log as audit
from app.core import calendar
from app.core.errors import DomainError
from app.core.extensions import db
from app.core.i18n import MAX_AMOUNT_CENTS, fold, money
from app.ledger import contributions
from app.ledger.errors import IdempotencyConflict, StatementUnreadable
from app.ledger.models import Transfer
from app.members import cards, payment
from app.members.errors import InvalidMemberNumber
from app.members.models import Member

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000
BATCH_MAX_AGE = 3600  # a preview may be confirmed within the hour
KEY_PREFIX = "bank:"


def _reference_pattern(prefix: str) -> re.Pattern:
    """The prefix (`PATIAS`, see `app.members.payment.reference_prefix`), up to three separators,
    then six digits, maybe split 3 + 3 by a space."""
    return re.compile(rf"{re.escape(prefix)}\W{{0,3}}(\d{{3}}\s?\d{{3}})(?!\d)", re.IGNORECASE)


# Header names, folded (lower case, no accents, punctuation as spaces), by column.
_DATE_NAMES = (
    "date",
    "date operation",
    "date de l operation",
    "date d operation",
    "date comptable",
    "booking date",
    "transaction date",
    "date de comptabilisation",
)
_AMOUNT_NAMES = ("montant", "amount", "montant eur", "montant en euros", "montant euros", "valeur")
_CREDIT_NAMES = ("credit", "credit eur", "credits", "montant credit", "credit euros")
_DEBIT_NAMES = ("debit", "debit eur", "debits", "montant debit", "debit euros")
_LABEL_NAMES = (
    "libelle",
    "label",
    "libelle operation",
    "libelle de l operation",
    "reference",
    "description",
    "motif",
    "details",
    "detail",
    "communication",
    "libelle simplifie",
    "informations complementaires",
)
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d-%m-%y")
_AMOUNT = re.compile(r"^([+-]?)(\d{1,3}(?:[ .\u00a0\u202f']\d{3})+|\d+)(?:[.,](\d{1,2}))?$")


@dataclass
class StatementRow:
    line: int
    day: date | None
    amount_cents: int | None
    label: str
    status: str = "unmatched"  # matched | unmatched | duplicate | likely_duplicate | ignored
    problem: str = ""
    member: Member | None = None
    key: str = ""

    @property
    def can_record_by_hand(self) -> bool:
        """Whether the manual form would take this row (readable, positive, not too large, not in
        the future: exactly the rows that got a key) and it is not recorded or about to be."""
        return bool(self.key) and self.status in ("unmatched", "likely_duplicate")


@dataclass
class Statement:
    filename: str
    encoding: str
    separator: str
    rows: list[StatementRow] = field(default_factory=list)

    def having(self, status: str) -> list[StatementRow]:
        return [row for row in self.rows if row.status == status]

    @property
    def matched(self) -> list[StatementRow]:
        return self.having("matched")

    @property
    def matched_cents(self) -> int:
        return sum(row.amount_cents or 0 for row in self.matched)


# Reading the file


def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the encoding it was read with; `StatementUnreadable` otherwise."""
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise StatementUnreadable(
            _l(
                "This is a spreadsheet file (Excel or LibreOffice), not a CSV file. Open it and save it as CSV, or export the statement as CSV from the bank’s website."
            )
        )
    if data[:4] == b"%PDF":
        raise StatementUnreadable(
            _l("This is a PDF file. Export the statement as CSV from the bank’s website.")
        )
    if b"\x00" in data:
        raise StatementUnreadable(
            _l(
                "This file is not text (perhaps UTF-16 or a binary file). Export the statement as CSV in UTF-8 or Windows-1252."
            )
        )
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise StatementUnreadable(
            _l(
                "The characters of this file could not be read: export it as CSV in UTF-8 or Windows-1252 (ANSI)."
            )
        ) from exc


def _separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ";"))
    if counts[best] == 0:
        raise StatementUnreadable(
            _l("No column separator found: the file should have columns separated by ; or ,")
        )
    return best


def _find(names: list[str], wanted: tuple[str, ...]) -> int | None:
    for candidate in wanted:
        if candidate in names:
            return names.index(candidate)
    for index, name in enumerate(names):  # "Date opération (JJ/MM/AAAA)", "Montant (EUR)"...
        if any(name.startswith(candidate + " ") for candidate in wanted):
            return index
    return None


def _columns(header: list[str]) -> dict[str, int | None]:
    names = [fold(cell) for cell in header]
    columns = {
        "date": _find(names, _DATE_NAMES),
        "amount": _find(names, _AMOUNT_NAMES),
        "credit": _find(names, _CREDIT_NAMES),
        "debit": _find(names, _DEBIT_NAMES),
        "label": _find(names, _LABEL_NAMES),
    }
    if (
        columns["date"] is None
        or columns["label"] is None
        or (columns["amount"] is None and columns["credit"] is None)
    ):
        raise StatementUnreadable(
            _l(
                "The first row must name the columns: a date (“Date”), an amount (“Montant”, or “Crédit” and “Débit”) and a label (“Libellé”). Found: %(found)s.",
                found=", ".join(h.strip() for h in header if h.strip())[:300] or "–",
            )
        )
    return columns


def parse_day(text: str) -> date | None:
    text = (text or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day, no time
        except ValueError:
            continue
    return None


def parse_signed_cents(text: str) -> int | None:
    """'1 234,56' -> 123456, '-12,50' -> -1250, '12.5' -> 1250; None if it is not an amount."""
    cleaned = (text or "").strip().replace("€", "").replace("EUR", "").strip()
    cleaned = cleaned.replace("\u00a0", " ").replace("\u202f", " ")
    if cleaned.endswith("-"):  # some banks write debits as 12,50-
        cleaned = "-" + cleaned[:-1].strip()
    cleaned = re.sub(r"^([+-])\s+", r"\1", cleaned)
    match = _AMOUNT.match(cleaned)
    if not match:
        return None
    sign, whole, decimals = match.groups()
    whole = re.sub(r"[ .\u00a0\u202f']", "", whole)
    if len(whole) > 9:
        return None
    cents = int(whole) * 100 + int((decimals or "").ljust(2, "0") or 0)
    return -cents if sign == "-" else cents


def member_reference(label: str) -> tuple[str | None, str]:
    """The member number written in a label (`PATIAS 000018`, what
    `app.members.payment.payment_reference` gives), or None with the reason."""
    prefix = payment.reference_prefix()
    found = {re.sub(r"\s", "", m) for m in _reference_pattern(prefix).findall(label or "")}
    if not found:
        return None, str(
            _l("No “%(prefix)s” reference with a member number in the label.", prefix=prefix)
        )
    if len(found) > 1:
        return None, str(_l("Several member numbers in the label: record this payment by hand."))
    number = found.pop()
    try:
        return cards.check_member_number(number), ""
    except InvalidMemberNumber:
        return None, str(
            _l(
                "The member number %(number)s in the label is not valid (check digit).",
                number=number,
            )
        )


def row_key(day: date, cents: int, label: str, rank: int) -> str:
    content = f"{day.isoformat()}|{cents}|{' '.join(label.split()).upper()}|{rank}"
    return KEY_PREFIX + hashlib.sha256(content.encode()).hexdigest()[:48]


def read_statement(data: bytes, filename: str = "") -> Statement:
    """Read and classify every row (nothing is recorded). Raises `StatementUnreadable`."""
    if not data or not data.strip():
        raise StatementUnreadable(_l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise StatementUnreadable(
            _l("The file is too large (at most 1 MB): export a shorter period.")
        )
    text, encoding = decode(data)
    lines = text.splitlines()
    # Some banks put a few lines (account number, period) above the header: skip to the first
    # line that names the columns.
    start = 0
    for index, line in enumerate(lines[:15]):
        if "date" in fold(line) and (
            "montant" in fold(line) or "amount" in fold(line) or "credit" in fold(line)
        ):
            start = index
            break
    body = "\n".join(lines[start:])
    separator = _separator(lines[start] if lines else "")
    try:
        records = list(csv.reader(io.StringIO(body), delimiter=separator))
    except csv.Error as exc:
        raise StatementUnreadable(
            _l("The file is not a valid CSV file: %(error)s", error=str(exc)[:200])
        ) from exc
    if not records:
        raise StatementUnreadable(_l("The file is empty."))
    columns = _columns(records[0])
    if len(records) - 1 > MAX_ROWS:
        raise StatementUnreadable(
            _l(
                "The file has too many rows (at most %(max)d): export a shorter period.",
                max=MAX_ROWS,
            )
        )
    from app.members.applications import clean_line

    statement = Statement(
        filename=clean_line(filename)[:120], encoding=encoding, separator=separator
    )
    seen: Counter = Counter()
    today = calendar.today()
    for offset, record in enumerate(records[1:], start=start + 2):
        if not any(cell.strip() for cell in record):
            continue
        statement.rows.append(_classify(record, columns, offset, seen, today))
    _mark_members_and_duplicates(statement)
    return statement


def _cell(record: list[str], index: int | None) -> str:
    return record[index] if index is not None and index < len(record) else ""


def _classify(record, columns, line, seen: Counter, today: date) -> StatementRow:
    from app.members.applications import clean_line

    label = clean_line(_cell(record, columns["label"]))[:300]
    day = parse_day(_cell(record, columns["date"]))
    if columns["amount"] is not None:
        cents = parse_signed_cents(_cell(record, columns["amount"]))
    else:
        credit = (
            parse_signed_cents(_cell(record, columns["credit"]))
            if _cell(record, columns["credit"]).strip()
            else None
        )
        debit = (
            parse_signed_cents(_cell(record, columns["debit"]))
            if _cell(record, columns["debit"]).strip()
            else None
        )
        cents = abs(credit) if credit else (-abs(debit) if debit else None)
    row = StatementRow(line=line, day=day, amount_cents=cents, label=label)
    if day is None:
        row.problem = str(_l("The date could not be read."))
    elif cents is None:
        row.problem = str(_l("The amount could not be read."))
    elif cents <= 0:
        row.status, row.problem = (
            "ignored",
            str(_l("A debit or a zero amount: not a contribution.")),
        )
    elif cents > MAX_AMOUNT_CENTS:  # the manual form's maximum: surely a misread or a typo
        row.problem = str(
            _l("This amount is too large (at most %(max)s).", max=money(MAX_AMOUNT_CENTS))
        )
    elif day > today:
        row.problem = str(_l("The date is in the future."))
    else:
        seen[(day, cents, label.upper())] += 1
        row.key = row_key(day, cents, label, seen[(day, cents, label.upper())])
    return row


def _mark_members_and_duplicates(statement: Statement) -> None:
    candidates = [row for row in statement.rows if row.key]
    numbers = {}
    for row in candidates:
        number, problem = member_reference(row.label)
        numbers[row.line] = number
        if number is None:
            row.problem = problem
    wanted = {n for n in numbers.values() if n}
    members = (
        {m.number: m for m in db.session.scalars(select(Member).where(Member.number.in_(wanted)))}
        if wanted
        else {}
    )
    keys = {row.key for row in candidates}
    recorded = (
        set(
            db.session.scalars(
                select(Transfer.idempotency_key).where(Transfer.idempotency_key.in_(keys))
            )
        )
        if keys
        else set()
    )
    for row in candidates:
        if row.key in recorded:
            row.status, row.problem = "duplicate", str(_l("Already recorded (an earlier import)."))
            continue
        number = numbers.get(row.line)
        if number is None:
            continue
        member = members.get(number)
        if member is None or member.status == "erased":
            row.problem = str(_l("No member has the number %(number)s.", number=number))
            continue
        row.member, row.status = member, "matched"
    _mark_entered_by_hand(statement.matched)


def _mark_entered_by_hand(rows: list[StatementRow]) -> None:
    """Matched rows with the member, amount and date of a contribution recorded otherwise than
    by an import (by hand, not cancelled) become probable duplicates, one per such contribution."""
    if not rows:
        return
    found = db.session.scalars(
        select(Transfer)
        .where(
            Transfer.kind == "contribution",
            Transfer.member_id.in_({r.member.id for r in rows}),
            Transfer.occurred_on.in_({r.day for r in rows}),
            Transfer.amount_cents.in_({r.amount_cents for r in rows}),
            or_(
                Transfer.idempotency_key.is_(None),
                ~Transfer.idempotency_key.startswith(KEY_PREFIX, autoescape=True),
            ),
            ~contributions.is_reversed(),
        )
        .order_by(Transfer.id)
    )
    by_hand: dict[tuple, list[Transfer]] = {}
    for t in found:
        by_hand.setdefault((t.member_id, t.occurred_on, t.amount_cents), []).append(t)
    for row in rows:
        earlier = by_hand.get((row.member.id, row.day, row.amount_cents))
        if earlier:
            row.status = "likely_duplicate"
            row.problem = str(
                _l(
                    "Probably already recorded by hand: receipt %(reference)s has the same member, amount and date. If this is a second payment, record it by hand.",
                    reference=earlier.pop(0).reference,
                )
            )


# From the preview to the ledger


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="patias-bank-import")


def batch_token(statement: Statement) -> str:
    """The matched rows, signed, for the confirmation form."""
    rows = [
        [r.line, r.day.isoformat(), r.amount_cents, r.label, r.member.id, r.key]
        for r in statement.matched
    ]
    return _serializer().dumps({"file": statement.filename, "rows": rows})


@dataclass(frozen=True)
class ImportResult:
    recorded: int
    recorded_cents: int
    already: int
    skipped: int


def record_batch(token: str, actor_id: int) -> ImportResult:
    """Record the rows of a confirmed preview (flushes, never commits). Rows already recorded
    (same key) are counted, not recorded again. Raises `StatementUnreadable` for a forged or
    expired preview."""
    try:
        payload = _serializer().loads(token, max_age=BATCH_MAX_AGE)
    except SignatureExpired as exc:
        raise StatementUnreadable(_l("This preview has expired: import the file again.")) from exc
    except BadSignature as exc:
        raise StatementUnreadable(_l("This preview is not valid: import the file again.")) from exc
    recorded = recorded_cents = already = skipped = 0
    for _line, day, cents, label, member_id, key in payload["rows"]:
        member = db.session.get(Member, member_id)
        if member is None or member.status == "erased":
            skipped += 1
            continue
        try:
            row = contributions.record_contribution(
                member,
                cents,
                date.fromisoformat(day),
                "transfer",
                actor_id=actor_id,
                idempotency_key=key,
                reference=label,
            )
        except IdempotencyConflict:
            already += 1
            continue
        except DomainError:
            skipped += 1
            continue
        if row.replayed:
            already += 1
        else:
            recorded += 1
            recorded_cents += cents
    audit.record(
        actor_id,
        "contribution.imported",
        "statement",
        None,
        {
            "file": payload.get("file", ""),
            "recorded": recorded,
            "amount_cents": recorded_cents,
            "already_recorded": already,
            "skipped": skipped,
        },
    )
    return ImportResult(recorded, recorded_cents, already, skipped)
