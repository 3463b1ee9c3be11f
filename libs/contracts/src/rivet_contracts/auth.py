"""Auth service contracts: registration, login, tokens, invitations, Telegram linking."""

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import available_timezones

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from .base import Done, EventData, Request, View
from .identity import Identity, Role
from .spec import EventSpec, RpcSpec
from .subjects import Events, Rpc
from .wire import Outcome

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
Password = Annotated[
    str, StringConstraints(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]
PASSWORD_RULES = (
    "8-128 characters. Refused (422): common passwords, one character or group repeated "  # noqa: S105
    "(aaaaaaaa), runs like 12345678 or abcdefgh, and passwords made of the e-mail address, "
    "the user's name or the organization's name; digits or symbols added do not help."
)
"""The auth service's password rules (``rivet_auth.security.password_policy``) in one line,
for the API documents."""
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Token = Annotated[str, StringConstraints(min_length=16, max_length=512)]


# --- requests -----------------------------------------------------------------------------


class RegisterUser(Request):
    """Create an organization with the registering user as its admin."""

    email: EmailStr = Field(description="Login e-mail; unique across Rivet.")
    password: Password = Field(description=PASSWORD_RULES)
    full_name: Name = Field(description="Shown on work orders and in the bot.")
    organization_name: Name | None = Field(
        default=None, description="Defaults to the user's name followed by 'workspace'."
    )


class LogIn(Request):
    """Exchange credentials for a token pair."""

    email: str = Field(max_length=320, description="The account's e-mail (OAuth2 `username`).")
    password: str = Field(max_length=128, description="The account's password.")
    device_token: str | None = Field(
        default=None,
        max_length=512,
        description="A device token from an earlier successful login on this device: "
        "throttling of other sources does not lock this device out.",
    )
    client_ip: str | None = Field(default=None, max_length=64, description="Set by the gateway.")


class RefreshTokens(Request):
    """Rotate a refresh token: the old one is spent, a new pair is returned."""

    refresh_token: Token = Field(description="The refresh token from the last login or refresh.")


class LogOut(Request):
    """End a session: the refresh token's whole family is revoked."""

    refresh_token: Token = Field(description="The session's current refresh token.")


class GetMe(Request):
    """The caller's own profile."""


class ListUsers(Request):
    """The users of the caller's organization."""

    include_inactive: bool = Field(
        default=False, description="Also the deactivated members (to reactivate one)."
    )


class NewRole(Request):
    """Body of ``PUT /api/auth/users/{user_id}/role``."""

    role: Role = Field(description="The new role.")


class ChangeRole(Request):
    """Give a member of the caller's organization another role (admins only). The last
    active admin keeps the role (409)."""

    user_id: UUID = Field(description="The member.")
    role: Role = Field(description="The new role.")


class DeactivateUser(Request):
    """Switch a member's account off at once (admins only): their sessions end, their tokens
    stop working within seconds, the bot forgets them. The last active admin cannot be
    deactivated (409). Their work orders and history stay."""

    user_id: UUID = Field(description="The member.")


class ReactivateUser(Request):
    """Switch a deactivated member's account on again (admins only); they log in anew."""

    user_id: UUID = Field(description="The member.")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the tz database: once


def _known_time_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("not an IANA time zone (e.g. Europe/Berlin, America/Chicago, UTC)")
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_time_zone)]


class GetOrganization(Request):
    """The caller's organization and its settings."""


class UpdateOrganization(Request):
    """Change the caller's organization's settings (admins only); fields left out stay."""

    name: Name | None = Field(default=None, description="The organization's name.")
    time_zone: TimeZone | None = Field(
        default=None,
        description="IANA time zone of the site (`Europe/Berlin`): days, due dates and "
        "planned maintenance follow it.",
    )
    working_hours_per_week: float | None = Field(
        default=None,
        gt=0,
        le=168,
        strict=True,  # a number: not `true`, not "40"
        description="Hours a technician works in a week (backlog in crew-weeks).",
    )


class StartEmailVerification(Request):
    """Mail a six-digit code to ``email`` (a new address for the caller's account) or, without
    it, to the account's address, to prove the caller reads it."""

    email: EmailStr | None = Field(default=None, description="A new address; none: the current.")


class ConfirmEmail(Request):
    """The code from the mail: the address becomes the account's, verified."""

    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] = Field(
        description="Six digits, valid 15 minutes, five tries."
    )


class AuditAction(StrEnum):
    """What the security audit log records."""

    REGISTERED = "registered"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an action
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an action
    ROLE_CHANGED = "role_changed"
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    INVITED = "invited"
    INVITATION_REVOKED = "invitation_revoked"
    JOINED = "joined"
    ORGANIZATION_UPDATED = "organization_updated"
    EMAIL_VERIFIED = "email_verified"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"


class ListAuditLog(Request):
    """The organization's security audit log, newest first (admins only)."""

    limit: int = Field(default=50, ge=1, le=500, description="Entries per page.")
    before: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The `next_before` of the previous page."
    )


class ListRevocations(Request):
    """Sessions and users whose access tokens stopped being valid since ``since`` (for the
    gateway's token check; access tokens older than their lifetime have expired anyway)."""

    since: datetime = Field(description="Revocations at or after this time.")


class InviteUser(Request):
    """Invite someone to the caller's organization with a role (admins only). With an
    ``email`` the invitee gets the link by mail; without one the invitation can only be taken
    in Telegram (its ``telegram_link``), the admin passing the link on."""

    email: EmailStr | None = Field(
        default=None,
        description="Who is invited; none: the invitation is joined in Telegram only.",
    )
    role: Role = Field(default=Role.TECHNICIAN, description="The role they get on joining.")


class ListInvitations(Request):
    """The organization's invitations still waiting for an answer (admins only)."""


class RevokeInvitation(Request):
    """Withdraw a pending invitation (admins only): its link stops working."""

    invitation_id: UUID = Field(description="The invitation.")


class AcceptInvitation(Request):
    """Join an organization with an invitation token and choose a password. An invitation
    made without an e-mail address is taken in Telegram only (422 here)."""

    token: Token = Field(description="The one-time invitation token.")
    password: Password = Field(description=PASSWORD_RULES)
    full_name: Name = Field(description="The new user's name.")


class JoinWithTelegram(Request):
    """Sent by the Telegram service when a Telegram user without an account opens an
    invitation's link (``/start join_<token>``): they join the organization with the
    invitation's role, linked at once. The invitation is spent (once, before it expires). The
    account has the invitation's address (unverified) or a placeholder one, and no password
    until the user sets one."""

    token: Token = Field(description="The invitation's one-time token (after `join_`).")
    telegram_user_id: int = Field(gt=0, description="Telegram's id of the user.")
    full_name: Name = Field(description="Name from the Telegram profile.")
    telegram_username: str | None = Field(
        default=None, max_length=64, description="Telegram @username, if the user has one."
    )


class CreateTelegramLink(Request):
    """Create a one-time code that links a Telegram account to the caller."""


class RedeemTelegramLink(Request):
    """Sent by the Telegram service when a user opens the bot with a link code."""

    code: Token = Field(description="The code from `/start <code>`.")
    telegram_user_id: int = Field(gt=0, description="Telegram's id of the user.")
    telegram_username: str | None = Field(
        default=None, max_length=64, description="Telegram @username, if the user has one."
    )


class RegisterTelegramUser(Request):
    """Sent by the Telegram service when an unknown user taps "create my workspace": a new
    organization with this Telegram user as its admin, linked at once. The account has no
    password until the user sets one through an invitation or password reset."""

    telegram_user_id: int = Field(gt=0, description="Telegram's id of the user.")
    full_name: Name = Field(description="Name from the Telegram profile.")
    telegram_username: str | None = Field(
        default=None, max_length=64, description="Telegram @username, if the user has one."
    )


class ForgotPassword(Request):
    """Ask for a password reset link by e-mail. The answer is the same whether or not the
    address has an account."""

    email: str = Field(max_length=320, description="The account's e-mail.")


class ResetPassword(Request):
    """Choose a new password with the one-time token of a reset link. Every session of the
    account ends."""

    token: Token = Field(description="The token from the reset link (valid 30 minutes, once).")
    new_password: Password = Field(description=PASSWORD_RULES)


class ChangePassword(Request):
    """Change the caller's password. Every other session of the account ends; the answer is a
    new token pair for this one."""

    current_password: str = Field(max_length=128, description="The password in use now.")
    new_password: Password = Field(description=PASSWORD_RULES)


class GetTelegramIdentity(Request):
    """Sent by the Telegram service: who is this Telegram user in Rivet?"""

    telegram_user_id: int = Field(gt=0, description="Telegram's id of the user.")


API_KEY_PREFIX = "rvt_"
"""Every API key starts with it (secret scanners recognise the keys by it)."""
API_KEY_FORMAT = r"^rvt_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$"
"""``rvt_`` + the key's public prefix (10 characters) + ``_`` + 32 random bytes, base64url."""


class CreateApiKey(Request):
    """Create an API key for a machine client of the caller's organization (admins; a person,
    never another key). The secret is in the answer once."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = (
        Field(description="What the key is for (`ERP export`, `SCADA gateway line 2`).")
    )
    role: Role = Field(
        default=Role.VIEWER, description="The role the key acts with (at most the creator's)."
    )
    read_only: bool = Field(
        default=False, description="Only GET and HEAD requests, whatever the role."
    )
    expires_at: datetime | None = Field(
        default=None, description="When the key stops working (in the future); none: never."
    )


class ListApiKeys(Request):
    """The organization's API keys, revoked ones included, newest first (admins)."""


class RevokeApiKey(Request):
    """Revoke an API key (admins): every gateway refuses it within seconds."""

    key_id: UUID = Field(description="The key.")


class ListActiveApiKeys(Request):
    """Every API key that works now, of every organization, by the hash of its secret (for
    the gateways' copy of them)."""


class ApiKeysUsed(Request):
    """Keys a gateway accepted since it last said (their ``last_used_at``, to the minute)."""

    key_ids: list[UUID] = Field(max_length=10_000, description="The keys used.")


# --- replies ------------------------------------------------------------------------------


class TokenPair(View):
    """The answer to login and refresh (OAuth2 token response plus Rivet's extras)."""

    access_token: str = Field(description="Short-lived EdDSA-signed JWT for `Authorization`.")
    refresh_token: str = Field(description="Opaque, single-use; exchange it at /refresh.")
    token_type: str = Field(default="bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Access token lifetime in seconds.")
    refresh_expires_in: int = Field(description="Refresh token lifetime in seconds.")
    device_token: str | None = Field(
        default=None, description="Keep it and send it with later logins from this device."
    )


class UserView(View):
    """A user as others may see it (never the password hash)."""

    id: UUID
    org_id: UUID
    organization_name: str
    email: str
    full_name: str
    role: Role
    telegram_linked: bool = False
    is_active: bool = True
    email_verified: bool = False
    last_login_at: datetime | None = None
    created_at: datetime


class UserList(View):
    items: list[UserView]


class EmailVerificationStarted(View):
    email: str = Field(description="Where the code went.")
    expires_at: datetime


class OrganizationView(View):
    id: UUID
    name: str
    time_zone: str = Field(description="IANA time zone.")
    working_hours_per_week: float
    created_at: datetime


class AuditEntry(View):
    id: int
    at: datetime
    action: AuditAction
    actor_id: UUID | None = Field(description="Who did it (none for a failed login).")
    user_id: UUID | None = Field(description="Whose account it concerned.")
    channel: str | None = Field(description="api, telegram, ...")
    details: dict[str, Any] = Field(default_factory=dict)


class AuditLog(View):
    items: list[AuditEntry]
    next_before: int | None = Field(description="`before` of the next page; null on the last.")


class Revocation(View):
    """Access tokens of ``user_id`` issued at or before ``revoked_at`` are no longer valid:
    those of one session (``session_id``), or all of the user's (``session_id`` null)."""

    user_id: UUID
    session_id: UUID | None
    revoked_at: datetime


class Revocations(View):
    items: list[Revocation]


class InvitationView(View):
    """A pending invitation. ``token`` is shown only once, to the admin who invited (the
    invitee also gets it by mail)."""

    id: UUID
    email: str | None = Field(description="Who is invited; none: joined in Telegram only.")
    role: Role
    expires_at: datetime
    created_at: datetime | None = None
    token: str | None = Field(default=None, description="One-time token for the invitee.")
    telegram_link: str | None = Field(
        default=None,
        description="`https://t.me/<bot>?start=join_<token>`: joining in Telegram, when a bot "
        "is set (shown once, like `token`).",
    )


class InvitationList(View):
    items: list[InvitationView]


class PasswordResetRequested(View):
    """The answer to a reset request, the same for every address."""

    message: str = Field(
        description="If the address has an account, a reset link is on its way to it."
    )


class TelegramLinkCode(View):
    code: str = Field(description="One-time code, valid for 10 minutes.")
    link: str | None = Field(description="`https://t.me/<bot>?start=<code>` when a bot is set.")
    expires_at: datetime


class TelegramIdentity(View):
    """Who a Telegram user is in Rivet, for the bot to act as them."""

    identity: Identity
    user: UserView


class ApiKeyView(View):
    """An API key as its organization's admins see it. ``secret`` is shown once, in the
    answer that created the key; only a hash of it is kept."""

    id: UUID
    prefix: str = Field(description="The key's public part: `rvt_<prefix>_...`.")
    name: str
    role: Role
    read_only: bool
    created_by: UUID = Field(description="The admin who created it.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="Last accepted by a gateway (to within about a minute)."
    )
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    secret: str | None = Field(
        default=None, description="The whole key, only in the answer that created it."
    )


class ApiKeyList(View):
    items: list[ApiKeyView]


class ActiveApiKey(View):
    """A key a gateway may accept: ``secret_sha256`` is the SHA-256 (hex) of the whole key."""

    id: UUID
    org_id: UUID
    role: Role
    read_only: bool
    expires_at: datetime | None
    secret_sha256: str


class ActiveApiKeys(View):
    items: list[ActiveApiKey]


# --- events -------------------------------------------------------------------------------


class UserRegistered(EventData):
    user_id: UUID
    org_id: UUID
    organization_name: str
    email: str
    full_name: str
    role: Role


class UserInvited(EventData):
    invitation_id: UUID
    org_id: UUID
    email: str | None = Field(description="None: an invitation to join in Telegram.")
    role: Role
    invited_by: UUID


class UserJoined(EventData):
    user_id: UUID
    org_id: UUID
    email: str
    full_name: str
    role: Role


class UserTelegramLinked(EventData):
    user_id: UUID
    org_id: UUID
    telegram_user_id: int


class UserRoleChanged(EventData):
    user_id: UUID
    org_id: UUID
    role: Role
    previous_role: Role
    changed_by: UUID


class UserDeactivated(EventData):
    user_id: UUID
    org_id: UUID
    deactivated_by: UUID


class UserReactivated(EventData):
    user_id: UUID
    org_id: UUID
    email: str
    full_name: str
    role: Role
    reactivated_by: UUID


class UserSessionsRevoked(EventData):
    """Access tokens issued at or before ``revoked_at`` stop working: one session's
    (``session_id``: a logout, a stolen refresh token) or all of the user's (a new password,
    another role, deactivation)."""

    user_id: UUID
    org_id: UUID
    session_id: UUID | None
    revoked_at: datetime
    reason: str


class UserEmailVerified(EventData):
    """A user proved they read ``email``, now their account's address (maybe a new one)."""

    user_id: UUID
    org_id: UUID
    email: str


class OrganizationUpdated(EventData):
    """An organization's settings now (all of them, not only what changed)."""

    org_id: UUID
    name: str
    time_zone: str
    working_hours_per_week: float
    changed_by: UUID


class UserPasswordChanged(EventData):
    """A password was changed or reset; every session of the user but the one that changed it
    has ended."""

    user_id: UUID
    org_id: UUID
    how: str = Field(description="`changed` (knowing the old one) or `reset` (by a mailed link).")


class ApiKeyCreated(EventData):
    """An admin created an API key; ``secret_sha256`` (the SHA-256 of the whole key, hex) is
    what the gateways recognise it by."""

    key_id: UUID
    org_id: UUID
    prefix: str
    name: str
    role: Role
    read_only: bool
    expires_at: datetime | None
    created_by: UUID
    secret_sha256: str


class ApiKeyRevoked(EventData):
    """An admin revoked an API key: the gateways refuse it from now on."""

    key_id: UUID
    org_id: UUID
    revoked_by: UUID
    revoked_at: datetime


# --- catalogue ----------------------------------------------------------------------------

RPCS: tuple[RpcSpec[Any, Any], ...] = (
    REGISTER := RpcSpec(
        Rpc.AUTH_REGISTER,
        RegisterUser,
        UserView,
        "Register a user and a new organization.",
        None,
        outcome=Outcome.CREATED,
    ),
    LOGIN := RpcSpec(Rpc.AUTH_LOGIN, LogIn, TokenPair, "Log in with e-mail and password.", None),
    REFRESH := RpcSpec(Rpc.AUTH_REFRESH, RefreshTokens, TokenPair, "Rotate a refresh token.", None),
    LOGOUT := RpcSpec(Rpc.AUTH_LOGOUT, LogOut, Done, "Revoke a session's refresh tokens.", None),
    ME := RpcSpec(Rpc.AUTH_ME, GetMe, UserView, "The caller's profile."),
    LIST_USERS := RpcSpec(
        Rpc.AUTH_LIST_USERS,
        ListUsers,
        UserList,
        "Users of the caller's organization.",
    ),
    INVITE := RpcSpec(
        Rpc.AUTH_INVITE,
        InviteUser,
        InvitationView,
        "Invite a user to the organization.",
        Role.ADMIN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    LIST_INVITATIONS := RpcSpec(
        Rpc.AUTH_LIST_INVITATIONS,
        ListInvitations,
        InvitationList,
        "Pending invitations of the organization.",
        Role.ADMIN,
    ),
    REVOKE_INVITATION := RpcSpec(
        Rpc.AUTH_REVOKE_INVITATION,
        RevokeInvitation,
        Done,
        "Withdraw a pending invitation.",
        Role.ADMIN,
    ),
    ACCEPT_INVITATION := RpcSpec(
        Rpc.AUTH_ACCEPT_INVITATION,
        AcceptInvitation,
        UserView,
        "Join an organization with an invitation.",
        None,
        outcome=Outcome.CREATED,
    ),
    CREATE_TELEGRAM_LINK := RpcSpec(
        Rpc.AUTH_CREATE_TELEGRAM_LINK,
        CreateTelegramLink,
        TelegramLinkCode,
        "Create a one-time Telegram link code.",
    ),
    REDEEM_TELEGRAM_LINK := RpcSpec(
        Rpc.AUTH_REDEEM_TELEGRAM_LINK,
        RedeemTelegramLink,
        TelegramIdentity,
        "Redeem a Telegram link code (Telegram service).",
        None,
    ),
    REGISTER_TELEGRAM := RpcSpec(
        Rpc.AUTH_REGISTER_TELEGRAM,
        RegisterTelegramUser,
        TelegramIdentity,
        "Create a workspace for a new Telegram user (Telegram service).",
        None,
    ),
    JOIN_WITH_TELEGRAM := RpcSpec(
        Rpc.AUTH_JOIN_WITH_TELEGRAM,
        JoinWithTelegram,
        TelegramIdentity,
        "Join an organization with an invitation from Telegram (Telegram service).",
        None,
    ),
    TELEGRAM_IDENTITY := RpcSpec(
        Rpc.AUTH_TELEGRAM_IDENTITY,
        GetTelegramIdentity,
        TelegramIdentity,
        "Resolve a Telegram user to a Rivet identity (Telegram service).",
        None,
    ),
    FORGOT_PASSWORD := RpcSpec(
        Rpc.AUTH_FORGOT_PASSWORD,
        ForgotPassword,
        PasswordResetRequested,
        "Mail a password reset link (same answer for every address).",
        None,
        outcome=Outcome.ACCEPTED,
    ),
    RESET_PASSWORD := RpcSpec(
        Rpc.AUTH_RESET_PASSWORD,
        ResetPassword,
        Done,
        "Set a new password with a reset link's token.",
        None,
    ),
    CHANGE_PASSWORD := RpcSpec(
        Rpc.AUTH_CHANGE_PASSWORD,
        ChangePassword,
        TokenPair,
        "Change the caller's password; other sessions end.",
    ),
    CHANGE_ROLE := RpcSpec(
        Rpc.AUTH_CHANGE_ROLE, ChangeRole, UserView, "Give a member another role.", Role.ADMIN
    ),
    DEACTIVATE_USER := RpcSpec(
        Rpc.AUTH_DEACTIVATE_USER,
        DeactivateUser,
        UserView,
        "Switch a member's account off.",
        Role.ADMIN,
    ),
    REACTIVATE_USER := RpcSpec(
        Rpc.AUTH_REACTIVATE_USER,
        ReactivateUser,
        UserView,
        "Switch a member's account on again.",
        Role.ADMIN,
    ),
    GET_ORGANIZATION := RpcSpec(
        Rpc.AUTH_GET_ORGANIZATION,
        GetOrganization,
        OrganizationView,
        "The caller's organization and its settings.",
    ),
    UPDATE_ORGANIZATION := RpcSpec(
        Rpc.AUTH_UPDATE_ORGANIZATION,
        UpdateOrganization,
        OrganizationView,
        "Change the organization's settings.",
        Role.ADMIN,
    ),
    START_EMAIL_VERIFICATION := RpcSpec(
        Rpc.AUTH_START_EMAIL_VERIFICATION,
        StartEmailVerification,
        EmailVerificationStarted,
        "Mail a code that proves the caller reads an address.",
        outcome=Outcome.ACCEPTED,
    ),
    CONFIRM_EMAIL := RpcSpec(
        Rpc.AUTH_CONFIRM_EMAIL,
        ConfirmEmail,
        UserView,
        "Confirm an address with the mailed code.",
    ),
    AUDIT_LOG := RpcSpec(
        Rpc.AUTH_AUDIT_LOG, ListAuditLog, AuditLog, "The security audit log.", Role.ADMIN
    ),
    REVOCATIONS := RpcSpec(
        Rpc.AUTH_REVOCATIONS,
        ListRevocations,
        Revocations,
        "Revoked sessions since a time (gateway).",
        None,
    ),
    CREATE_API_KEY := RpcSpec(
        Rpc.AUTH_CREATE_API_KEY,
        CreateApiKey,
        ApiKeyView,
        "Create an API key (its secret shown once).",
        Role.ADMIN,
        outcome=Outcome.CREATED,
        idempotent=True,
    ),
    LIST_API_KEYS := RpcSpec(
        Rpc.AUTH_LIST_API_KEYS, ListApiKeys, ApiKeyList, "The organization's API keys.", Role.ADMIN
    ),
    REVOKE_API_KEY := RpcSpec(
        Rpc.AUTH_REVOKE_API_KEY, RevokeApiKey, ApiKeyView, "Revoke an API key.", Role.ADMIN
    ),
    ACTIVE_API_KEYS := RpcSpec(
        Rpc.AUTH_ACTIVE_API_KEYS,
        ListActiveApiKeys,
        ActiveApiKeys,
        "Every API key that works now, by hash (gateway).",
        None,
    ),
    API_KEYS_USED := RpcSpec(
        Rpc.AUTH_API_KEYS_USED,
        ApiKeysUsed,
        Done,
        "Record when API keys were last used (gateway).",
        None,
    ),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        Events.USER_REGISTERED,
        UserRegistered,
        "A user registered and created an organization.",
        exported=True,
    ),
    # an address and a role nobody has accepted yet (members appear with user.joined)
    EventSpec(Events.USER_INVITED, UserInvited, "An admin invited a user.", exported=False),
    EventSpec(Events.USER_JOINED, UserJoined, "An invited user joined.", exported=True),
    # the bot's sign-in link: a Telegram id stands for the account
    EventSpec(
        Events.USER_TELEGRAM_LINKED,
        UserTelegramLinked,
        "A user linked their Telegram account.",
        exported=False,
    ),
    # password internals
    EventSpec(
        Events.USER_PASSWORD_CHANGED,
        UserPasswordChanged,
        "A user's password was changed or reset; their other sessions ended.",
        exported=False,
    ),
    EventSpec(
        Events.USER_ROLE_CHANGED,
        UserRoleChanged,
        "An admin changed a member's role.",
        exported=True,
    ),
    EventSpec(
        Events.USER_DEACTIVATED,
        UserDeactivated,
        "An admin switched a member's account off.",
        exported=True,
    ),
    EventSpec(
        Events.USER_REACTIVATED,
        UserReactivated,
        "An admin switched a member's account on again.",
        exported=True,
    ),
    # the outcome of a mailed code
    EventSpec(
        Events.USER_EMAIL_VERIFIED,
        UserEmailVerified,
        "A user confirmed an address, now their account's.",
        exported=False,
    ),
    EventSpec(
        Events.ORGANIZATION_UPDATED,
        OrganizationUpdated,
        "An admin changed the organization's name, time zone or working hours.",
        exported=True,
    ),
    # revocations: which sessions' tokens stopped working
    EventSpec(
        Events.USER_SESSIONS_REVOKED,
        UserSessionsRevoked,
        "Access tokens of a session or of a user stopped being valid.",
        exported=False,
    ),
    # API keys: what the gateways recognise them by, and their revocation
    EventSpec(
        Events.API_KEY_CREATED,
        ApiKeyCreated,
        "An admin created an API key.",
        exported=False,
    ),
    EventSpec(
        Events.API_KEY_REVOKED,
        ApiKeyRevoked,
        "An admin revoked an API key.",
        exported=False,
    ),
)
