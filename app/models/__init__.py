"""All models, imported so that Alembic and `db.create_all()` see every table."""

from app.models.audit import AuditEntry  # noqa: F401
from app.models.content import (  # noqa: F401
    Category,
    Commune,
    FaqEntry,
    FeedbackVote,
    OutboxMessage,
    Page,
    PickupPoint,
    RateLimitHit,
    Setting,
    Subscriber,
)
from app.models.events import Booking, Event, Registration, Ride, RideRequest  # noqa: F401
from app.models.ledger import Account, Transfer  # noqa: F401
from app.models.merchants import MarketStall, Merchant, merchant_category  # noqa: F401
from app.models.people import ActivationCode, Application, Member, RetiredCardToken, User  # noqa: F401
from app.models.twofactor import TotpCredential  # noqa: F401
