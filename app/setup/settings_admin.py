"""The association's settings edited in the back office (`/admin/parametres`), one section at a
time: identity, bank account, allocation and roll-over rule, where to pay, backups.

Each operation checks its values again (the forms check formats), writes the settings that
changed (`set_setting`), and appends one audit entry with the old and the new values of the
keys it changed; it flushes, never commits. Refusals are `InvalidSetting` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from app.audit import log as audit
from app.backups import archive
from app.backups.errors import BackupError
from app.core.calendar import Month
from app.core.errors import InvalidPeriod
from app.core.i18n import money
from app.core.settings import association, set_setting
from app.ledger import allocation
from app.ledger.allocation import AllocationSummary
from app.payouts.bank_details import parse_iban
from app.payouts.errors import InvalidIban
from app.setup.errors import ConfirmationNeeded, InvalidSetting

# Bounds of the monthly allocation, in cents (0 € and 10,000 € are refused).
ALLOCATION_MIN_CENTS = 100
ALLOCATION_MAX_CENTS = 100_000  # 1,000 €
CAP_MONTHS_MAX = 24
ROLLOVER_RULES = ("cap", "expire", "none")
PAY_PLACES_MAX = 6
KEEP_MAX = 366


def _save(section: str, values: dict, actor_id: int | None) -> dict:
    """Write the values that differ from the current ones; audit them; return those changed."""
    current = association()
    changed = {key: value for key, value in values.items() if current.get(key) != value}
    if not changed:
        return {}
    old = {key: current.get(key) for key in changed}
    for key, value in changed.items():
        set_setting(key, value)
    audit.record(
        actor_id,
        "settings.changed",
        "settings",
        None,
        {"section": section, "old": _audited(old), "new": _audited(changed)},
    )
    return changed


def _audited(values: dict) -> dict:
    """The log never names a key `iban` (see `app.audit.log`): like the merchants' IBANs, the
    association's is logged by its last four characters."""
    out = dict(values)
    if "iban" in out:
        out["iban_last4"] = str(out.pop("iban") or "")[-4:]
    return out


# --- Identity -------------------------------------------------------------------------------


IDENTITY_TEXTS = ("long_name_fr", "long_name_en", "area_fr", "area_en", "origin_fr", "origin_en")


def save_identity(
    name: str,
    contact_email: str,
    contact_phone: str,
    address: str,
    actor_id: int | None,
    **texts: str,
) -> dict:
    """The name, contacts and address; `texts` may give the full names, the area and where the
    experiment comes from, in French and English (`IDENTITY_TEXTS`; the area is required)."""
    unknown = set(texts) - set(IDENTITY_TEXTS)
    if unknown:
        raise TypeError(f"unknown identity texts {sorted(unknown)}")
    if not (name or "").strip():
        raise InvalidSetting(_l("Enter the association’s name."), field="name")
    if not (contact_email or "").strip():
        raise InvalidSetting(_l("Enter the contact e-mail address."), field="contact_email")
    for key in ("area_fr", "area_en"):
        if key in texts and not (texts[key] or "").strip():
            raise InvalidSetting(_l("Enter the area of the experiment."), field=key)
    lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    values = {
        "name": name.strip(),
        "contact_email": contact_email.strip(),
        "contact_phone": (contact_phone or "").strip(),
        "address": "\n".join(lines),
    }
    values.update({key: (value or "").strip() for key, value in texts.items()})
    return _save("identity", values, actor_id)


# --- Bank account ---------------------------------------------------------------------------


def check_bic(text: str | None, iban: str) -> str:
    """A typed BIC -> its compact form, or `InvalidSetting` on the `bic` field. When schwifty
    knows the BICs of the IBAN's bank, the BIC must be one of them (its first 8 characters: bank,
    country, place); otherwise it must be of the IBAN's country."""
    compact = "".join((text or "").split()).upper()
    if not compact:
        raise InvalidSetting(_l("Enter the BIC (8 or 11 characters)."), field="bic")
    try:
        bic = BIC(compact)
    except SchwiftyException:
        raise InvalidSetting(
            _l("This BIC is not valid: it has 8 or 11 letters and digits, for example BDFEFRPP."),
            field="bic",
        ) from None
    parsed = IBAN(iban)
    try:
        candidates = [
            str(c)[:8] for c in BIC.candidates_from_bank_code(parsed.country_code, parsed.bank_code)
        ]
    except SchwiftyException:
        candidates = []
    if candidates and str(bic)[:8] not in candidates:
        raise InvalidSetting(
            _l(
                "This BIC is not the one of the IBAN’s bank (%(expected)s): check both on the bank details (RIB).",
                expected=", ".join(sorted(set(candidates))),
            ),
            field="bic",
        )
    if not candidates and bic.country_code != parsed.country_code:
        raise InvalidSetting(
            _l(
                "This BIC is of another country than the IBAN: check both on the bank details (RIB)."
            ),
            field="bic",
        )
    return str(bic)


def save_bank(
    holder: str, iban: str, bic: str, actor_id: int | None, prefix: str | None = None
) -> dict:
    """The account; `prefix`, when given, is the word members write before their number on a
    transfer (see `app.members.payment.reference_prefix`)."""
    holder = (holder or "").strip()
    if not holder:
        raise InvalidSetting(_l("Enter the account holder’s name."), field="bank_holder")
    try:
        compact = parse_iban(iban)
    except InvalidIban as exc:
        raise InvalidSetting(exc.message, field="iban") from None
    values = {"bank_holder": holder, "iban": compact, "bic": check_bic(bic, compact)}
    if prefix is not None:
        word = "".join((prefix or "").split()).upper()
        if not re.fullmatch(r"[A-Z]{2,12}", word):
            raise InvalidSetting(
                _l("From 2 to 12 letters without accents, for example SSA."),
                field="payment_reference_prefix",
            )
        values["payment_reference_prefix"] = word
    return _save("bank", values, actor_id)


# --- Allocation and roll-over rule ----------------------------------------------------------


@dataclass(frozen=True)
class AllocationPlan:
    """Proposed allocation rules and what they would do, beside what the current ones would."""

    rules: dict
    period: str  # the next month a run credits
    start: str  # the month the proposed amount applies from
    proposed: AllocationSummary
    current: AllocationSummary
    proposed_start: AllocationSummary | None  # the first month of the new amount, if later
    current_start: AllocationSummary | None

    @property
    def more_expiry(self) -> bool:
        """The proposed rules send back more than the current ones (balances would expire)."""
        pairs = [(self.proposed, self.current)]
        if self.proposed_start is not None:
            pairs.append((self.proposed_start, self.current_start))
        return any(
            new.expired_cents > old.expired_cents or new.expired_members > old.expired_members
            for new, old in pairs
        )


def rollover_of(rule: str, cap_months: int | None) -> dict:
    if rule not in ROLLOVER_RULES:
        raise InvalidSetting(_l("Choose one of the roll-over rules."), field="rule")
    if rule != "cap":
        return {"rule": rule}
    if cap_months is None or not 1 <= cap_months <= CAP_MONTHS_MAX:
        raise InvalidSetting(
            _l(
                "The cap is a whole number of monthly allocations, from 1 to %(max)d.",
                max=CAP_MONTHS_MAX,
            ),
            field="cap_months",
        )
    return {"rule": "cap", "cap_months": int(cap_months)}


def check_start(text: str | None) -> str:
    """The month a new amount applies from: `YYYY-MM`, not in the past, not already allocated."""
    current = Month.current()
    try:
        month = Month.parse(text, last=current.shift(36))
    except InvalidPeriod as exc:
        raise InvalidSetting(exc.message, field="start") from None
    if month < current:
        raise InvalidSetting(
            _l("A new amount never applies to a past month: choose this month or a later one."),
            field="start",
        )
    if str(month) in allocation.allocated_periods():
        raise InvalidSetting(
            _l(
                "%(month)s has already been allocated: the new amount can apply from %(next)s.",
                month=str(month),
                next=allocation.next_period(),
            ),
            field="start",
        )
    return str(month)


def plan_allocation(
    amount_cents: int, start: str, rule: str, cap_months: int | None
) -> AllocationPlan:
    """Check the proposed rules and compute their preview (nothing is written)."""
    if not ALLOCATION_MIN_CENTS <= amount_cents <= ALLOCATION_MAX_CENTS:
        raise InvalidSetting(
            _l(
                "The monthly allocation is from %(min)s to %(max)s.",
                min=money(ALLOCATION_MIN_CENTS),
                max=money(ALLOCATION_MAX_CENTS),
            ),
            field="amount",
        )
    start = check_start(start)
    rollover = rollover_of(rule, cap_months)
    current = association()
    schedule = [
        entry
        for entry in current.get("allocation_schedule") or []
        if str(entry.get("from")) < start
    ]
    if (
        allocation.allocation_cents(start, {**current, "allocation_schedule": schedule})
        != amount_cents
    ):
        schedule.append({"from": start, "cents": int(amount_cents)})
    rules = {**current, "allocation_schedule": schedule, "rollover": rollover}
    period = allocation.next_period()
    later = start > period
    return AllocationPlan(
        rules=rules,
        period=period,
        start=start,
        proposed=allocation.preview(period, rules),
        current=allocation.preview(period, current),
        proposed_start=allocation.preview(start, rules) if later else None,
        current_start=allocation.preview(start, current) if later else None,
    )


def save_allocation(
    amount_cents: int,
    start: str,
    rule: str,
    cap_months: int | None,
    confirmed: bool,
    actor_id: int | None,
) -> dict:
    """Save the amount (from `start` on) and the roll-over rule. Rules that make balances expire
    which would not under the current ones need `confirmed` (`ConfirmationNeeded`)."""
    plan = plan_allocation(amount_cents, start, rule, cap_months)
    if plan.more_expiry and not confirmed:
        raise ConfirmationNeeded()
    return _save(
        "allocation",
        {
            "allocation_schedule": plan.rules["allocation_schedule"],
            "rollover": plan.rules["rollover"],
        },
        actor_id,
    )


# --- Where to pay ---------------------------------------------------------------------------


def save_pay_places(places: list[tuple[str, str]], actor_id: int | None) -> dict:
    """Places and times to pay a contribution in cash or by cheque (empty rows are dropped)."""
    rows = []
    for index, (place, times) in enumerate(places):
        place, times = (place or "").strip(), (times or "").strip()
        if not place and not times:
            continue
        if not place:
            raise InvalidSetting(
                _l("Enter the place, or empty the times."), field=f"places-{index}-place"
            )
        rows.append({"place": place, "times": times})
    if len(rows) > PAY_PLACES_MAX:
        raise InvalidSetting(_l("At most %(max)d places.", max=PAY_PLACES_MAX))
    return _save("payment", {"pay_places": rows}, actor_id)


# --- Backups --------------------------------------------------------------------------------


def save_backups(directory: str, keep_daily: int, keep_monthly: int, actor_id: int | None) -> dict:
    """The backup directory (empty: `instance/backups`) must be writable or creatable."""
    directory = (directory or "").strip()
    if directory:
        try:
            archive.check_directory(directory)
        except BackupError:
            raise InvalidSetting(
                _l(
                    "This directory cannot be created or written to by the application: choose another one or fix its permissions."
                ),
                field="backup_dir",
            ) from None
    for name, value in (("keep_daily", keep_daily), ("keep_monthly", keep_monthly)):
        if value is None or not 1 <= value <= KEEP_MAX:
            raise InvalidSetting(_l("A whole number from 1 to %(max)d.", max=KEEP_MAX), field=name)
    return _save(
        "backups",
        {
            "backup_dir": directory,
            "backup_keep_daily": int(keep_daily),
            "backup_keep_monthly": int(keep_monthly),
        },
        actor_id,
    )
