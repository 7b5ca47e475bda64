"""markets: a market defined once, merchants linked to it by their stalls

Revision ID: 0002
Revises: 0001

Each distinct (place, weekday, opens, closes) of the existing stalls becomes one market; the
stalls then point at it (a merchant's duplicate stalls at the same market become one). Going
down copies the market's place, day and hours back onto each stall.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

market = sa.table(
    "market",
    sa.column("id", sa.Integer),
    sa.column("place", sa.String),
    sa.column("commune_id", sa.Integer),
    sa.column("weekday", sa.Integer),
    sa.column("opens", sa.Time),
    sa.column("closes", sa.Time),
    sa.column("active", sa.Boolean),
)
stall = sa.table(
    "market_stall",
    sa.column("id", sa.Integer),
    sa.column("merchant_id", sa.Integer),
    sa.column("market_id", sa.Integer),
    sa.column("place", sa.String),
    sa.column("weekday", sa.Integer),
    sa.column("opens", sa.Time),
    sa.column("closes", sa.Time),
)


def upgrade():
    op.create_table(
        "market",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=160), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_market_weekday")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["commune.id"], name=op.f("fk_market_commune_id_commune")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market")),
    )
    with op.batch_alter_table("market_stall", schema=None) as batch_op:
        batch_op.add_column(sa.Column("market_id", sa.Integer(), nullable=True))

    # Data: one market per distinct place, day and hours; each stall linked to its market.
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(stall.c.id, stall.c.merchant_id, stall.c.place, stall.c.weekday)
        .add_columns(stall.c.opens, stall.c.closes)
        .order_by(stall.c.id)
    ).all()
    markets: dict[tuple, int] = {}
    linked: set[tuple[int, int]] = set()
    for stall_id, merchant_id, place, weekday, opens, closes in rows:
        key = (place, weekday, opens, closes)
        if key not in markets:
            markets[key] = bind.execute(
                market.insert()
                .values(place=place, weekday=weekday, opens=opens, closes=closes, active=True)
                .returning(market.c.id)
            ).scalar_one()
        if (merchant_id, markets[key]) in linked:
            bind.execute(stall.delete().where(stall.c.id == stall_id))
            continue
        linked.add((merchant_id, markets[key]))
        bind.execute(
            stall.update().where(stall.c.id == stall_id).values(market_id=markets[key])
        )

    with op.batch_alter_table("market_stall", schema=None) as batch_op:
        batch_op.alter_column("market_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(op.f("ck_market_stall_weekday"), type_="check")
        batch_op.drop_column("place")
        batch_op.drop_column("weekday")
        batch_op.drop_column("opens")
        batch_op.drop_column("closes")
        batch_op.create_index(batch_op.f("ix_market_stall_market_id"), ["market_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_market_stall_merchant_id"), ["merchant_id", "market_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_market_stall_market_id_market"),
            "market",
            ["market_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("market_stall", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("weekday", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("opens", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("closes", sa.Time(), nullable=True))
    for name in ("place", "weekday", "opens", "closes"):
        op.execute(
            stall.update().values(
                {
                    name: sa.select(market.c[name])
                    .where(market.c.id == stall.c.market_id)
                    .scalar_subquery()
                }
            )
        )
    with op.batch_alter_table("market_stall", schema=None) as batch_op:
        batch_op.drop_constraint("fk_market_stall_market_id_market", type_="foreignkey")
        batch_op.drop_constraint("uq_market_stall_merchant_id", type_="unique")
        batch_op.drop_index(batch_op.f("ix_market_stall_market_id"))
        batch_op.drop_column("market_id")
        batch_op.alter_column("place", existing_type=sa.String(length=160), nullable=False)
        batch_op.alter_column("weekday", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("opens", existing_type=sa.Time(), nullable=False)
        batch_op.alter_column("closes", existing_type=sa.Time(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_market_stall_weekday"), "weekday BETWEEN 0 AND 6")
    op.drop_table("market")
