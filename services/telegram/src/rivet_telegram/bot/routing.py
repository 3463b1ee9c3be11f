"""Handler modules declare their handlers once; each dispatcher gets fresh routers.

aiogram attaches a ``Router`` to one parent for the life of the process, but this process may
build several dispatchers (a restart in place, the tests' bots). ``Handlers`` offers the same
decorators as a router and builds a new ``Router`` from them on demand.
"""

from collections.abc import Callable
from typing import Any

from aiogram import Router

Func = Callable[..., Any]


class Handlers:
    def __init__(self, name: str, *, message_filters: tuple[Any, ...] = ()) -> None:
        self.name = name
        self.message_filters = message_filters
        self._entries: list[tuple[str, tuple[Any, ...], Func]] = []

    def _on(self, kind: str, filters: tuple[Any, ...]) -> Callable[[Func], Func]:
        def register(func: Func) -> Func:
            self._entries.append((kind, filters, func))
            return func

        return register

    def message(self, *filters: Any) -> Callable[[Func], Func]:
        return self._on("message", filters)

    def callback_query(self, *filters: Any) -> Callable[[Func], Func]:
        return self._on("callback_query", filters)

    def router(self) -> Router:
        router = Router(name=self.name)
        if self.message_filters:
            router.message.filter(*self.message_filters)
        for kind, filters, func in self._entries:
            router.observers[kind].register(func, *filters)
        return router
