"""Demo events: the meetings and festivities of autumn 2025, then what comes next, dated from
the day of seeding so that the site always shows upcoming events.

Idempotent by slug: an event that exists is left alone, with its registrations and rides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.core import calendar
from app.core.calendar import PARIS
from app.core.extensions import db
from app.core.i18n import fold
from app.events import carpool
from app.events.models import Booking, Event, PickupPoint, Registration, Ride
from app.events.registrations import new_token
from app.members.models import Commune

MEETING_HALLS = (
    ("Boën-sur-Lignon", "Salle des fêtes de Boën-sur-Lignon", "Rue de la Mairie"),
    ("Sail-sous-Couzan", "Salle des fêtes de Sail-sous-Couzan", "Place de la Mairie"),
    ("Marcilly-le-Châtel", "Salle communale de Marcilly-le-Châtel", "Le Bourg"),
    ("Saint-Étienne-le-Molard", "Salle des fêtes de Saint-Étienne-le-Molard", "Le Bourg"),
    ("Leigneux", "Salle des fêtes de Leigneux", "Le Bourg"),
    ("Trelins", "Salle polyvalente de Trelins", "Le Bourg"),
)

MEETING_TEXT_FR = (
    "Le groupe de travail se retrouve chaque mois pour faire vivre l’expérimentation : bilan de la "
    "caisse commune, choix des produits et des lieux d’achat conventionnés, accueil des nouveaux "
    "adhérents.\n\n"
    "Pas besoin de connaissances particulières : nous mangeons tous, et cela suffit pour avoir voix "
    "au chapitre. Café et gâteaux offerts.\n\n"
    "Covoiturage depuis les places de la mairie : cochez « J’ai besoin d’un trajet » ou proposez "
    "vos places en vous inscrivant."
)
MEETING_TEXT_EN = (
    "The working group meets every month to run the experiment: how the common fund is doing, "
    "which products and shops to convention, welcoming new members.\n\n"
    "No special knowledge needed: we all eat, and that is enough to have a say. Coffee and cakes "
    "provided.\n\n"
    "Carpools leave from the town-hall squares: tick “I need a ride” or offer your seats when you "
    "register."
)

FIRST_NAMES = (
    "Martine",
    "Jean-Paul",
    "Sylvie",
    "Karim",
    "Odile",
    "Bernard",
    "Léa",
    "Thierry",
    "Nadia",
    "Gérard",
    "Chantal",
    "Mathis",
    "Josiane",
    "Pierre",
    "Amandine",
    "René",
    "Fatima",
    "Yves",
    "Claire",
    "Lucien",
)
LAST_NAMES = (
    "Roux",
    "Besson",
    "Chazal",
    "Mercier",
    "Faure",
    "Dupuy",
    "Gironde",
    "Vial",
    "Barou",
    "Chabanne",
    "Thévenon",
    "Perrin",
    "Guillot",
    "Dumas",
    "Rivière",
    "Montet",
    "Berthet",
    "Crozet",
    "Jacquet",
    "Moulin",
)


def seed() -> Iterator[str]:
    today = calendar.today()
    communes = {c.name: c for c in db.session.scalars(select(Commune))}
    points = {
        p.commune.name: p
        for p in db.session.scalars(select(PickupPoint).order_by(PickupPoint.position))
    }
    created = 0
    for spec in [*_past_events(), *_upcoming_events(today)]:
        if db.session.scalar(select(Event.id).where(Event.slug == spec["slug"])) is not None:
            continue
        people = spec.pop("people", [])
        rides = spec.pop("rides", [])
        commune_name = spec.pop("commune", None)
        event = Event(status="published", commune=communes.get(commune_name), **spec)
        db.session.add(event)
        db.session.flush()
        registrations = [_register(event, n, communes, *row) for n, row in enumerate(people)]
        db.session.flush()
        for driver_index, pickup, departure, seats, note, passengers in rides:
            _ride(
                event,
                registrations[driver_index],
                points[pickup],
                departure,
                seats,
                note,
                [(registrations[i], s) for i, s in passengers],
            )
        for registration in registrations:
            carpool.sync_request(registration)
        created += 1
    db.session.flush()
    yield f"Events: {created} demo event(s) added."


def _at(day: date, hours: int, minutes: int = 0) -> datetime:
    return datetime.combine(day, time(hours, minutes), PARIS)


def _past_events() -> list[dict]:
    cezay = date(2025, 11, 15)
    festival = date(2025, 11, 23)
    launch = date(2025, 12, 13)
    return [
        {
            "slug": "groupe-de-travail-2025-11-15",
            "kind": "meeting",
            "title_fr": "Groupe de travail SSA : réunion de novembre",
            "title_en": "SSA working group: November meeting",
            "description_fr": MEETING_TEXT_FR,
            "description_en": MEETING_TEXT_EN,
            "starts_at": _at(cezay, 9, 30),
            "ends_at": _at(cezay, 12, 30),
            "place_name": "Salle des fêtes de Cezay",
            "address": "Le Bourg, 42130 Cezay",
            "commune": "Cezay",
            "people": [
                ("confirmed", 1, "Boën-sur-Lignon", False, False),
                ("confirmed", 2, "Cezay", False, False),
                ("confirmed", 1, "Leigneux", True, False),
                ("confirmed", 1, "Boën-sur-Lignon", False, True),
            ],
        },
        {
            "slug": "alimenterre-manger-pour-vivre-2025-11-23",
            "kind": "screening",
            "title_fr": "Festival AlimenTerre : « Manger pour vivre » et présentation de la SSA",
            "title_en": "AlimenTerre festival: “Manger pour vivre” and a talk about the SSA",
            "description_fr": (
                "Projection du film « Manger pour vivre » dans le cadre du festival AlimenTerre, suivie "
                "d’une présentation de l’expérimentation de Sécurité sociale alimentaire SSA PATIAS et "
                "d’un temps d’échange avec le public.\n\nEntrée libre, sans inscription."
            ),
            "description_en": (
                "Screening of the film “Manger pour vivre” during the AlimenTerre festival, followed by a "
                "presentation of the SSA PATIAS food social security experiment and a discussion with the "
                "audience.\n\nFree entry, no registration needed."
            ),
            "starts_at": _at(festival, 17, 0),
            "ends_at": _at(festival, 19, 30),
            "place_name": "Projection du festival AlimenTerre",
            "address": "42380 Saint-Bonnet-le-Château",
            "town": "Saint-Bonnet-le-Château",
            "registration_enabled": False,
            "carpool": False,
        },
        {
            "slug": "fete-de-lancement-2025-12-13",
            "kind": "party",
            "title_fr": "Fête de lancement de l’expérimentation SSA PATIAS",
            "title_en": "SSA PATIAS launch party",
            "description_fr": (
                "On lance l’expérimentation ! Un après-midi festif pour rencontrer les adhérents, les "
                "producteurs et les commerces conventionnés.\n\n"
                "Atelier de prise en main de l’outil de paiement : la carte, le code à quatre chiffres et "
                "le compte en ligne, pas à pas, avec ou sans smartphone."
            ),
            "description_en": (
                "The experiment begins! A festive afternoon to meet the members, the producers and the "
                "conventioned shops.\n\n"
                "Workshop to get started with the payment tool: the card, the four-digit code and the "
                "online account, step by step, with or without a smartphone."
            ),
            "starts_at": _at(launch, 14, 0),
            "ends_at": _at(launch, 18, 0),
            "place_name": "MJC de Boën-sur-Lignon",
            "address": "42130 Boën-sur-Lignon",
            "commune": "Boën-sur-Lignon",
            "people": [
                ("confirmed", 2, "Boën-sur-Lignon", False, False),
                ("confirmed", 3, "Trelins", False, False),
                ("confirmed", 1, "Sauvain", True, False),
                ("confirmed", 4, "Arthun", False, True),
            ],
        },
    ]


def _upcoming_events(today: date) -> list[dict]:
    specs = []
    for n, day in enumerate(_monthly_saturdays(today, count=5)):
        commune, hall, street = MEETING_HALLS[n % len(MEETING_HALLS)]
        spec = {
            "slug": f"groupe-de-travail-{day.isoformat()}",
            "kind": "meeting",
            "title_fr": f"Groupe de travail SSA à {commune}",
            "title_en": f"SSA working group in {commune}",
            "description_fr": MEETING_TEXT_FR,
            "description_en": MEETING_TEXT_EN,
            "starts_at": _at(day, 9, 30),
            "ends_at": _at(day, 12, 30),
            "place_name": hall,
            "address": f"{street}, {commune}",
            "commune": commune,
        }
        if n == 0:
            # The next meeting shows a lively carpool board.
            spec["people"] = [
                ("confirmed", 1, "Boën-sur-Lignon", False, True),
                ("confirmed", 1, "Sauvain", False, True),
                ("confirmed", 1, "Leigneux", True, False),
                ("confirmed", 2, "Boën-sur-Lignon", True, False),
                ("confirmed", 1, "Chalmazel-Jeansagnière", True, False),
                ("confirmed", 1, "Palogneux", True, False),
                ("confirmed", 1, "Marcoux", False, False),
                ("confirmed", 1, "Trelins", False, False),
            ]
            spec["rides"] = [
                (
                    0,
                    "Boën-sur-Lignon",
                    time(9, 0),
                    4,
                    "Départ à l’heure, je ne peux pas attendre.",
                    [(3, 2)],
                ),
                (1, "Sauvain", time(8, 45), 3, "Je passe par Saint-Georges-en-Couzan.", [(2, 1)]),
            ]
        specs.append(spec)

    workshop_day = _next_weekday(today + timedelta(days=17), weekday=2)  # a Wednesday
    specs.append(
        {
            "slug": f"atelier-cuisine-{workshop_day.isoformat()}",
            "kind": "workshop",
            "title_fr": "Atelier cuisine : les légumes de saison des producteurs conventionnés",
            "title_en": "Cooking workshop: seasonal vegetables from the conventioned producers",
            "description_fr": (
                "On cuisine ensemble les légumes du moment achetés chez les producteurs conventionnés, puis "
                "on partage le repas. Recettes simples et économes, à refaire chez soi.\n\n"
                "Douze places : inscrivez-vous vite, les places partent. Tablier conseillé."
            ),
            "description_en": (
                "We cook together the vegetables of the season bought from the conventioned producers, then "
                "share the meal. Simple, thrifty recipes to make again at home.\n\n"
                "Twelve places: register soon, they go fast. Bring an apron."
            ),
            "starts_at": _at(workshop_day, 18, 0),
            "ends_at": _at(workshop_day, 21, 0),
            "place_name": "Cuisine de la MJC",
            "address": "42130 Boën-sur-Lignon",
            "commune": "Boën-sur-Lignon",
            "capacity": 12,
            "people": [
                ("confirmed", 2, "Boën-sur-Lignon", False, False),
                ("confirmed", 1, "Cezay", True, False),
                ("confirmed", 3, "Marcilly-le-Châtel", False, True),
                ("confirmed", 1, "Trelins", False, False),
                ("confirmed", 2, "Montverdun", False, False),
                ("confirmed", 1, "Ailleux", True, False),
            ],
            "rides": [(2, "Marcilly-le-Châtel", time(17, 30), 2, "", [(1, 1)])],
        }
    )

    visit_day = _next_weekday(today + timedelta(days=24), weekday=5)  # a Saturday
    specs.append(
        {
            "slug": f"visite-de-ferme-{visit_day.isoformat()}",
            "kind": "visit",
            "title_fr": "Visite d’une ferme maraîchère conventionnée",
            "title_en": "Visit of a conventioned market-garden farm",
            "description_fr": (
                "Une productrice nous ouvre les portes de sa ferme : serres, rotation des cultures, "
                "vente directe. L’occasion de comprendre ce que paie notre allocation.\n\n"
                "Groupe limité à huit personnes pour ne pas déranger le travail de la ferme."
            ),
            "description_en": (
                "A producer opens her farm to us: greenhouses, crop rotation, direct sales. A chance to see "
                "what our allocation pays for.\n\n"
                "The group is limited to eight people so as not to disturb the farm's work."
            ),
            "starts_at": _at(visit_day, 14, 0),
            "ends_at": _at(visit_day, 16, 30),
            "place_name": "Ferme maraîchère",
            "address": "Chemin des Jardins, Montverdun",
            "commune": "Montverdun",
            "capacity": 8,
            "people": [
                ("confirmed", 2, "Boën-sur-Lignon", False, True),
                ("confirmed", 2, "Leigneux", True, False),
                ("confirmed", 1, "Arthun", False, False),
                ("confirmed", 3, "Sainte-Agathe-la-Bouteresse", False, False),
                ("waiting", 2, "Bussy-Albieux", False, False),
                ("waiting", 1, "Sail-sous-Couzan", True, False),
            ],
            "rides": [(0, "Boën-sur-Lignon", time(13, 30), 3, "", [(1, 2)])],
        }
    )
    return specs


def _monthly_saturdays(today: date, count: int) -> list[date]:
    """The second Saturday of each coming month (this month's too if it is still ahead)."""
    days = []
    year, month = today.year, today.month
    while len(days) < count:
        second = _next_weekday(date(year, month, 1), weekday=5) + timedelta(days=7)
        if second > today:
            days.append(second)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _register(
    event: Event,
    n: int,
    communes: dict,
    status: str,
    people: int,
    commune: str,
    needs_ride: bool,
    offers_ride: bool,
) -> Registration:
    # Names picked deterministically from the slug, so that each event has its own attendees.
    seed = int(hashlib.sha256(event.slug.encode()).hexdigest()[:8], 16)
    first = FIRST_NAMES[(seed + n * 7) % len(FIRST_NAMES)]
    last = LAST_NAMES[(seed // 7 + n * 3) % len(LAST_NAMES)]
    slug = f"{fold(first).replace(' ', '-')}.{fold(last).replace(' ', '-')}"
    position = None
    if status == "waiting":
        position = 1 + sum(1 for r in event.registrations if r.status == "waiting")
    registration = Registration(
        event_id=event.id,
        name=f"{first} {last}",
        email=f"{slug}@example.org",
        phone=f"06 {10 + n:02d} {20 + n * 3 % 70:02d} {30 + n * 7 % 60:02d} {40 + n:02d}",
        commune=communes.get(commune),
        people=people,
        needs_ride=needs_ride,
        offers_ride=offers_ride,
        status=status,
        position=position,
        token=new_token(),
        language="fr",
    )
    event.registrations.append(registration)
    return registration


def _ride(
    event: Event,
    driver: Registration,
    point: PickupPoint,
    departure: time,
    seats: int,
    note: str,
    passengers: list[tuple[Registration, int]],
) -> None:
    local_day = event.starts_at.astimezone(PARIS).date()
    ride = Ride(
        event_id=event.id,
        driver=driver,
        pickup_point=point,
        seats=seats,
        note=note,
        status="open",
        departs_at=datetime.combine(local_day, departure, PARIS),
    )
    db.session.add(ride)
    db.session.flush()
    for passenger, booked in passengers:
        db.session.add(
            Booking(ride_id=ride.id, registration_id=passenger.id, seats=booked, status="booked")
        )
    db.session.flush()
