"""aiogram routers, one per file, in the order the dispatcher tries them.

Groups first (the bot only works in private chats), then onboarding (open to anyone), then the
member routers, which see only linked users (``Linked`` passes them ``me`` and ``api``): flows
waiting for an answer come before plain commands, photos and replies, and the fallback last.
"""

from aiogram import Router

from ..bot.who import Linked
from . import (
    cancel,
    comments,
    create,
    equipment,
    fallback,
    groups,
    photos,
    reasons,
    review,
    start,
    stats,
    workorders,
)

MEMBERS = (cancel, create, reasons, review, stats, equipment, workorders, photos, comments)


def routers() -> list[Router]:
    """Fresh routers for one dispatcher, in the order they are tried."""
    members = Router(name="members")
    members.message.filter(Linked())
    members.callback_query.filter(Linked())
    members.include_routers(*(module.router.router() for module in MEMBERS))
    return [groups.router.router(), start.router.router(), members, fallback.router.router()]
