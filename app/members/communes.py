"""Which communes may join: matching a commune name as people type it.

People type "st etienne le molard", "BOEN", "L'Hopital sous Rochefort". A name is folded
(lower case, no accents, hyphens and apostrophes as spaces, St/Ste spelled out) and compared
with the communes of the database and their aliases (Solore-en-Forez's delegated communes).

Prefix rules, so that typing live gives an answer early without claiming a different commune:
- an exact name or alias always matches;
- one word of at least four letters matches when it starts exactly one commune ("BOEN");
- several words match a single commune while the last word is still being typed
  ("saint eti"), or ends on a linking word ("boen sur");
- several complete words that only start a name are treated as another commune's full name
  ("Saint-Étienne" is a city, not Saint-Étienne-le-Molard): not eligible, with a suggestion;
- a name that starts no commune but is a letter or two away from one of ours ("Boën-sur-Lingon",
  "Sail-sous-Cousan") is not eligible either, but the answer suggests the commune.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.audit import log as audit
from app.content.models import Subscriber
from app.core.extensions import db
from app.core.i18n import fold
from app.members.applications import clean_line
from app.members.errors import CommuneExists, InvalidCommune
from app.members.models import Commune

MAX_QUERY = 120  # longer than any commune name: the rest is noise, not a name
MIN_PREFIX = 4
# How close a misspelt name must be to suggest a commune (difflib's ratio, 1.0 = identical): a
# wrong, missing, doubled or swapped letter in a name of 8 letters or more stays above it.
TYPO_SIMILARITY = 0.8
MAX_SUGGESTIONS = 3
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
# Words that never end a commune's name: text ending on one is still being typed.
LINKING_WORDS = {
    "sur",
    "sous",
    "en",
    "le",
    "la",
    "les",
    "l",
    "de",
    "des",
    "d",
    "du",
    "et",
    "aux",
    "au",
    "lez",
    "pres",
}

EMPTY = "empty"  # nothing (or only digits and punctuation) typed
SHORT = "short"  # fewer than three letters and no exact name
ELIGIBLE = "eligible"
CHOOSE = "choose"  # several communes start with what was typed
OUTSIDE = "outside"  # not one of ours (perhaps with suggestions)


@dataclass(frozen=True)
class Candidate:
    """A name people may type: a commune's own name, or one of its aliases."""

    commune: Commune
    name: str
    alias: bool

    @property
    def key(self) -> str:
        return normalize(self.name)


@dataclass(frozen=True)
class Eligibility:
    """The answer of the checker for one typed text."""

    query: str
    status: str
    commune: Commune | None = None
    alias: str | None = None  # the delegated commune that was typed, when it is one
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return self.status == ELIGIBLE


def normalize(text: str | None) -> str:
    """'St-Étienne-le-Molard' -> 'saint etienne le molard'; digits dropped (postcodes)."""
    words = fold((text or "")[:MAX_QUERY]).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words if not word.isdigit())


def candidates() -> list[Candidate]:
    """Every name and alias of the communes in the database, eligible or not."""
    found = []
    for commune in db.session.scalars(db.select(Commune).order_by(Commune.name)):
        found.append(Candidate(commune, commune.name, False))
        found.extend(Candidate(commune, alias, True) for alias in commune.aliases or ())
    return found


def check_eligibility(text: str | None) -> Eligibility:
    """What the checker answers for `text` (see the module docstring for the rules)."""
    query = (text or "")[:MAX_QUERY].strip()
    key = normalize(query)
    if not key:
        return Eligibility(query, EMPTY)
    names = candidates()
    compact = key.replace(" ", "")
    exact = [c for c in names if c.key.replace(" ", "") == compact]
    if exact:
        return _answer(query, exact[0])
    if len(compact) < 3:
        return Eligibility(query, SHORT)
    starting = [
        c for c in names if c.key.startswith(key) or c.key.replace(" ", "").startswith(compact)
    ]
    communes = {c.commune.id for c in starting}
    if not starting:
        return Eligibility(query, OUTSIDE, candidates=_close_to(compact, names))
    words = key.split()
    complete_words = any(c.key.startswith(key + " ") for c in starting)
    if len(communes) == 1:
        if len(words) == 1 and len(compact) >= MIN_PREFIX:
            return _answer(query, starting[0])
        if len(words) > 1 and (not complete_words or words[-1] in LINKING_WORDS):
            return _answer(query, starting[0])
    if len(words) > 1 and complete_words and words[-1] not in LINKING_WORDS:
        return Eligibility(
            query, OUTSIDE, candidates=tuple(c for c in starting if c.commune.eligible)
        )
    return Eligibility(query, CHOOSE, candidates=tuple(starting))


def _close_to(compact: str, names: list[Candidate]) -> tuple[Candidate, ...]:
    """Eligible communes whose name is within a typo or two of `compact` (spaces removed), the
    closest first, one entry per commune."""
    scored = []
    for candidate in names:
        if candidate.commune.eligible:
            ratio = SequenceMatcher(None, compact, candidate.key.replace(" ", "")).ratio()
            if ratio >= TYPO_SIMILARITY:
                scored.append((-ratio, candidate.name, candidate))
    close, seen = [], set()
    for _, _, candidate in sorted(scored, key=lambda item: item[:2]):
        if candidate.commune.id not in seen:
            seen.add(candidate.commune.id)
            close.append(candidate)
    return tuple(close[:MAX_SUGGESTIONS])


def _answer(query: str, candidate: Candidate) -> Eligibility:
    if not candidate.commune.eligible:
        return Eligibility(query, OUTSIDE)
    return Eligibility(
        query, ELIGIBLE, candidate.commune, candidate.name if candidate.alias else None
    )


def find_commune(text: str | None) -> Commune | None:
    """The eligible commune that `text` names, or None."""
    return check_eligibility(text).commune


def eligible_communes() -> list[Commune]:
    """The communes whose residents may join, in alphabetical order (accents ignored)."""
    communes = db.session.scalars(db.select(Commune).where(Commune.eligible.is_(True))).all()
    return sorted(communes, key=lambda c: fold(c.name))


def subscribe(email: str, commune_text: str = "", language: str = "fr") -> Subscriber:
    """Keep `email` informed of the experiment (its area may grow). Subscribing twice is harmless:
    the existing row is updated, so the answer never tells whether an address was known."""
    email = email.strip().lower()
    commune_text = " ".join((commune_text or "").split())[:120]
    subscriber = db.session.scalar(db.select(Subscriber).where(Subscriber.email == email))
    if subscriber is None:
        try:
            with db.session.begin_nested():
                subscriber = Subscriber(email=email, commune=commune_text, language=language)
                db.session.add(subscriber)
        except IntegrityError:  # the same address sent twice at once
            subscriber = db.session.scalar(db.select(Subscriber).where(Subscriber.email == email))
    else:
        subscriber.commune = commune_text or subscriber.commune
        subscriber.language = language
    db.session.flush()
    return subscriber


def offered_communes(keep: int | None = None) -> list[Commune]:
    """The communes a form offers: the eligible ones, plus `keep` (the commune a member, a
    merchant or a pickup point already has, even retired), in alphabetical order."""
    communes = db.session.scalars(
        db.select(Commune).where((Commune.eligible.is_(True)) | (Commune.id == (keep or 0)))
    ).all()
    return sorted(communes, key=lambda c: fold(c.name))


# --- The back office's list of communes ------------------------------------------------------

NAME_MAX = 80
MAX_ALIASES = 20
POSTCODE = re.compile(r"[0-9]{5}")


@dataclass
class CommuneData:
    """What the commune form gives: aliases one per line (or separated by semicolons)."""

    name: str
    postcode: str
    aliases: str = ""


def all_communes() -> list[Commune]:
    """Every commune of the list, eligible first, then by name (accents ignored)."""
    communes = db.session.scalars(db.select(Commune)).all()
    return sorted(communes, key=lambda c: (not c.eligible, fold(c.name)))


def split_aliases(text: str | None) -> list[str]:
    parts = re.split(r"[\n;]", (text or "")[:10_000])
    return [name for name in (clean_line(part)[:NAME_MAX] for part in parts) if name]


def _clean_commune(data: CommuneData, commune: Commune | None) -> tuple[str, str, list[str]]:
    name = clean_line(data.name)
    if not normalize(name):
        raise InvalidCommune(_l("Enter the commune’s name."), field="name")
    if len(name) > NAME_MAX:
        raise InvalidCommune(_l("At most %(num)d characters.", num=NAME_MAX), field="name")
    postcode = clean_line(data.postcode)
    if not POSTCODE.fullmatch(postcode):
        raise InvalidCommune(_l("The postcode has 5 digits, for example 42130."), field="postcode")
    aliases = split_aliases(data.aliases)
    if len(aliases) > MAX_ALIASES:
        raise InvalidCommune(
            _l("At most %(num)d delegated communes.", num=MAX_ALIASES), field="aliases"
        )
    taken: dict[str, str] = {}
    for other in db.session.scalars(db.select(Commune)):
        if commune is not None and other.id == commune.id:
            continue
        for known in (other.name, *(other.aliases or ())):
            taken[normalize(known).replace(" ", "")] = other.name
    key = normalize(name).replace(" ", "")
    if key in taken:
        raise CommuneExists(
            _l("%(name)s is already in the list (as %(commune)s).", name=name, commune=taken[key]),
            field="name",
        )
    seen = {key}
    for alias in aliases:
        alias_key = normalize(alias).replace(" ", "")
        if not alias_key:
            raise InvalidCommune(_l("Each delegated commune needs a name."), field="aliases")
        if alias_key in taken:
            raise CommuneExists(
                _l(
                    "%(name)s is already in the list (as %(commune)s).",
                    name=alias,
                    commune=taken[alias_key],
                ),
                field="aliases",
            )
        if alias_key in seen:
            raise CommuneExists(_l("%(name)s is given twice.", name=alias), field="aliases")
        seen.add(alias_key)
    return name, postcode, aliases


def _commune_snapshot(commune: Commune) -> dict:
    return {
        "name": commune.name,
        "postcode": commune.postcode,
        "aliases": list(commune.aliases or ()),
        "eligible": commune.eligible,
    }


def _free_slug(name: str) -> str:
    base = fold(name).replace(" ", "-")[:NAME_MAX] or "commune"
    slug, n = base, 1
    while db.session.scalar(db.select(Commune.id).where(Commune.slug == slug)) is not None:
        n += 1
        slug = f"{base[: NAME_MAX - 4]}-{n}"
    return slug


def create_commune(data: CommuneData, actor_id: int | None) -> Commune:
    """A new eligible commune. Raises `InvalidCommune` or `CommuneExists` (with the field)."""
    name, postcode, aliases = _clean_commune(data, None)
    commune = Commune(
        name=name, slug=_free_slug(name), postcode=postcode, aliases=aliases, eligible=True
    )
    db.session.add(commune)
    db.session.flush()
    audit.record_change(
        actor_id, "commune", commune.id, "created", None, _commune_snapshot(commune)
    )
    return commune


def update_commune(commune: Commune, data: CommuneData, actor_id: int | None) -> bool:
    """Rename the commune, change its postcode or aliases (its slug stays: links keep working).
    Returns False when nothing changed."""
    name, postcode, aliases = _clean_commune(data, commune)
    before = _commune_snapshot(commune)
    commune.name, commune.postcode, commune.aliases = name, postcode, aliases
    db.session.flush()
    after = _commune_snapshot(commune)
    if after == before:
        return False
    audit.record_change(actor_id, "commune", commune.id, "updated", before, after)
    return True


def set_commune_eligible(commune: Commune, eligible: bool, actor_id: int | None) -> bool:
    """Retire a commune (no longer offered to new applicants; members, merchants and pickup
    points keep it) or bring it back. Returns False when it already was so."""
    if commune.eligible == eligible:
        return False
    before = _commune_snapshot(commune)
    commune.eligible = eligible
    db.session.flush()
    audit.record_change(
        actor_id,
        "commune",
        commune.id,
        "restored" if eligible else "retired",
        before,
        _commune_snapshot(commune),
    )
    return True
