"""The ``auth`` schema. Only this service reads or writes it."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from rivet_runtime.tables import (
    add_idempotency_table,
    add_job_table,
    add_mail_table,
    add_messaging_tables,
)

SCHEMA = "auth"
metadata = MetaData(schema=SCHEMA)

organizations = Table(
    "organizations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("time_zone", Text, nullable=False, server_default="UTC", comment="IANA"),
    Column("working_hours_per_week", Float, nullable=False, server_default="40"),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organizations.id"), nullable=False),
    Column("email", Text, nullable=False, unique=True, comment="stored lower-cased"),
    Column("password_hash", Text, nullable=False),
    Column("full_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default="true"),
    Column("telegram_user_id", BigInteger, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("email_verified", Boolean, nullable=False, server_default="false"),
    Column("last_login_at", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('admin', 'technician', 'viewer')", name="users_role_check"),
    Index("users_org_idx", "org_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("family_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("refresh_tokens_family_idx", "family_id"),
    Index("refresh_tokens_user_idx", "user_id"),
)

trusted_devices = Table(
    "trusted_devices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", Text, primary_key=True, comment="account:<email> or device:<id>"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_failure_at", DateTime(timezone=True)),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organizations.id"), nullable=False),
    Column("email", Text, comment="null: joined in Telegram only"),
    Column("role", Text, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("invited_by", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

telegram_link_codes = Table(
    "telegram_link_codes",
    metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

password_reset_requests = Table(
    "password_reset_requests",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("email", Text, nullable=False, comment="as asked, lower-cased; maybe no account's"),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    comment="asked for, not yet looked at (the `password-resets` job)",
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("password_resets_user_idx", "user_id", "created_at"),
)

email_verifications = Table(
    "email_verifications",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id"), nullable=False),
    Column("email", Text, nullable=False, comment="the address being proved, lower-cased"),
    Column("code_hash", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", DateTime(timezone=True)),
    Index("email_verifications_user_idx", "user_id", "created_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("action", Text, nullable=False),
    Column("actor_id", UUID(as_uuid=True)),
    Column("user_id", UUID(as_uuid=True), comment="whose account it concerned"),
    Column("channel", Text),
    Column("details", JSONB, nullable=False, server_default="{}"),
    Index("audit_log_org_idx", "org_id", "id"),
    comment="security events per organization, for its admins",
)

session_revocations = Table(
    "session_revocations",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("org_id", UUID(as_uuid=True), nullable=False),
    Column("session_id", UUID(as_uuid=True), comment="null: every session of the user"),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Index("session_revocations_at_idx", "revoked_at"),
    comment="access tokens issued at or before revoked_at are refused (kept for their lifetime)",
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organizations.id"), nullable=False),
    Column("prefix", Text, nullable=False, unique=True, comment="public: rvt_<prefix>_..."),
    Column("secret_hash", LargeBinary, nullable=False, unique=True, comment="SHA-256 of the key"),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("read_only", Boolean, nullable=False, server_default="false"),
    Column("created_by", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", UUID(as_uuid=True)),
    CheckConstraint("role IN ('admin', 'technician', 'viewer')", name="api_keys_role_check"),
    Index("api_keys_org_idx", "org_id", "created_at"),
    comment="machine clients' keys; only a hash of the secret is kept",
)

outbox, inbox, dead_letters = add_messaging_tables(metadata)
job_runs = add_job_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
mail_outbox = add_mail_table(metadata)
