"""aiogram routers, one per file, in the order the dispatcher tries them.

Groups first (the bot only works in private chats), then onboarding (open to anyone: joining
with an invitation's link, then linking or a new workspace), then the
member routers, which see only linked users (``Linked`` passes them ``me`` and ``api``): flows
waiting for an answer come before plain commands, photos and files for an order before
nameplate scans, replies, and the fallback last.
"""

from aiogram import Router

from ..bot.who import Linked
from . import (
    account,
    attach,
    cancel,
    checklist,
    comments,
    create,
    equipment,
    fallback,
    groups,
    join,
    photos,
    readings,
    reasons,
    review,
    start,
    stats,
    workorders,
)

MEMBERS = (
    cancel,
    create,
    reasons,
    review,
    readings,
    checklist,
    stats,
    account,
    equipment,
    workorders,
    attach,
    photos,
    comments,
)


def routers() -> list[Router]:
    """Fresh routers for one dispatcher, in the order they are tried."""
    members = Router(name="members")
    members.message.filter(Linked())
    members.callback_query.filter(Linked())
    members.include_routers(*(module.router.router() for module in MEMBERS))
    return [
        groups.router.router(),
        join.router.router(),
        start.router.router(),
        members,
        fallback.router.router(),
    ]
