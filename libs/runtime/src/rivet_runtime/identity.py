"""The caller's identity as request headers: written by clients, read by the request runtime."""

from collections.abc import Mapping
from uuid import UUID

from rivet_contracts import ActorKind, ErrorCode, Headers, Identity, Role, ServiceError


def identity_from_headers(headers: Mapping[str, str]) -> Identity | None:
    """The caller named in a request's headers, or None for an anonymous request."""
    user_id = headers.get(Headers.USER_ID)
    if not user_id:
        return None
    try:
        return Identity(
            user_id=UUID(user_id),
            org_id=UUID(headers.get(Headers.ORG_ID, "")),
            role=Role(headers.get(Headers.ROLE, "")),
            kind=ActorKind(headers.get(Headers.ACTOR_KIND) or ActorKind.USER),
        )
    except ValueError as exc:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "malformed caller identity") from exc


def identity_headers(identity: Identity | None) -> dict[str, str]:
    if identity is None:
        return {}
    headers = {
        Headers.USER_ID: str(identity.user_id),
        Headers.ORG_ID: str(identity.org_id),
        Headers.ROLE: identity.role.value,
    }
    if identity.kind is not ActorKind.USER:
        headers[Headers.ACTOR_KIND] = identity.kind.value
    return headers
