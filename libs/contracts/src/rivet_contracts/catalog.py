"""The catalogue: for every subject, its models and who may call it.

The runtime uses it to validate requests and enforce roles uniformly, and the AsyncAPI document
is generated from it, so a subject cannot exist without a typed contract.
"""

from dataclasses import dataclass

from pydantic import BaseModel

from . import auth
from .base import Done, EventData, Request
from .identity import Role
from .subjects import Events, Rpc


@dataclass(frozen=True)
class RpcSpec:
    """A request-reply endpoint.

    ``min_role`` is the least role a caller needs; ``None`` means no identity is required
    (login, register) - such subjects are reachable only by the gateway and the bot, which NATS
    permissions enforce.
    """

    subject: str
    request: type[Request]
    reply: type[BaseModel]
    summary: str
    min_role: Role | None = Role.VIEWER


@dataclass(frozen=True)
class EventSpec:
    """A domain event and the model of its ``data``."""

    subject: str
    data: type[EventData]
    summary: str


RPCS: dict[str, RpcSpec] = {
    spec.subject: spec
    for spec in (
        RpcSpec(
            Rpc.AUTH_REGISTER,
            auth.RegisterUser,
            auth.UserView,
            "Register a user and a new organization.",
            None,
        ),
        RpcSpec(
            Rpc.AUTH_LOGIN, auth.LogIn, auth.TokenPair, "Log in with e-mail and password.", None
        ),
        RpcSpec(
            Rpc.AUTH_REFRESH, auth.RefreshTokens, auth.TokenPair, "Rotate a refresh token.", None
        ),
        RpcSpec(Rpc.AUTH_LOGOUT, auth.LogOut, Done, "Revoke a session's refresh tokens.", None),
        RpcSpec(Rpc.AUTH_ME, auth.GetMe, auth.UserView, "The caller's profile."),
        RpcSpec(
            Rpc.AUTH_LIST_USERS,
            auth.ListUsers,
            auth.UserList,
            "Users of the caller's organization.",
        ),
        RpcSpec(
            Rpc.AUTH_INVITE,
            auth.InviteUser,
            auth.InvitationView,
            "Invite a user to the organization.",
            Role.ADMIN,
        ),
        RpcSpec(
            Rpc.AUTH_ACCEPT_INVITATION,
            auth.AcceptInvitation,
            auth.UserView,
            "Join an organization with an invitation.",
            None,
        ),
        RpcSpec(
            Rpc.AUTH_CREATE_TELEGRAM_LINK,
            auth.CreateTelegramLink,
            auth.TelegramLinkCode,
            "Create a one-time Telegram link code.",
        ),
        RpcSpec(
            Rpc.AUTH_REDEEM_TELEGRAM_LINK,
            auth.RedeemTelegramLink,
            auth.TelegramIdentity,
            "Redeem a Telegram link code (Telegram service).",
            None,
        ),
        RpcSpec(
            Rpc.AUTH_TELEGRAM_IDENTITY,
            auth.GetTelegramIdentity,
            auth.TelegramIdentity,
            "Resolve a Telegram user to a Rivet identity (Telegram service).",
            None,
        ),
    )
}

EVENTS: dict[str, EventSpec] = {
    spec.subject: spec
    for spec in (
        EventSpec(
            Events.USER_REGISTERED,
            auth.UserRegistered,
            "A user registered and created an organization.",
        ),
        EventSpec(Events.USER_INVITED, auth.UserInvited, "An admin invited a user."),
        EventSpec(Events.USER_JOINED, auth.UserJoined, "An invited user joined."),
        EventSpec(
            Events.USER_TELEGRAM_LINKED,
            auth.UserTelegramLinked,
            "A user linked their Telegram account.",
        ),
    )
}
