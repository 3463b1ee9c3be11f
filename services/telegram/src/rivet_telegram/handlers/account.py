"""The account from the chat: ``/invite`` (admins: a one-time link to join in Telegram),
``/email`` and ``/verify`` (prove an address with a mailed code), ``/password`` (a reset link
to the account's confirmed address, to log in to the web app)."""

import re

from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from rivet_contracts import Role
from rivet_contracts.auth import TelegramIdentity

from ..bot.routing import Handlers
from ..bot.who import Who
from ..render import account
from ..rivet import UserApi

router = Handlers("account")

ROLES = {role.value: role for role in (Role.TECHNICIAN, Role.VIEWER, Role.ADMIN)}
CODE = re.compile(r"[0-9]{6}")
PLACEHOLDER_DOMAIN = ".invalid"
"""Accounts born in Telegram have an address under ``.invalid`` until they prove one."""


@router.message(Command("invite"))
async def invite(
    message: Message, command: CommandObject, me: TelegramIdentity, api: UserApi
) -> None:
    word = (command.args or "technician").strip().lower()
    role = ROLES.get(word)
    if role is None:
        await message.answer(account.INVITE_USAGE)
        return
    if me.identity.role is not Role.ADMIN:
        await message.answer(account.INVITE_ADMINS_ONLY)
        return
    view = await api.invite(role)
    if view.telegram_link is None:
        await message.answer(account.NO_BOT_LINK)
        return
    await message.answer(account.invitation(view, view.telegram_link))


@router.message(Command("email"))
async def email(message: Message, command: CommandObject, api: UserApi) -> None:
    address = (command.args or "").strip()
    if not address or " " in address:
        await message.answer(account.EMAIL_USAGE)
        return
    started = await api.start_email_verification(address)
    await message.answer(account.code_sent(started))


@router.message(Command("verify"))
async def verify(
    message: Message, command: CommandObject, me: TelegramIdentity, api: UserApi, who: Who
) -> None:
    code = (command.args or "").strip()
    if not CODE.fullmatch(code):
        await message.answer(account.VERIFY_USAGE)
        return
    user = await api.confirm_email(code)
    who.set(TelegramIdentity(identity=me.identity, user=user))
    await message.answer(account.verified(user.email))


@router.message(Command("password"))
async def password(message: Message, api: UserApi) -> None:
    user = await api.me()  # fresh: the address may have been confirmed in the web app
    if not user.email_verified or user.email.endswith(PLACEHOLDER_DOMAIN):
        await message.answer(account.NEEDS_EMAIL)
        return
    await api.forgot_password(user.email)
    await message.answer(account.reset_sent(user.email))
