"""Brand names and aliases from the shared catalogue (``rivet_contracts.brands``)."""

from functools import cache

from rivet_contracts import brands

from .keys import norm


@cache
def aliases(manufacturer: str) -> tuple[str, ...]:
    """Normal forms people type for a stored manufacturer (canonical name included), e.g.
    ``Allen-Bradley`` -> ``ALLENBRADLEY``, ``AB``, ``ROCKWELL``, ``ROCKWELLAUTOMATION``."""
    out = dict.fromkeys([norm(manufacturer)])
    for alias in brands.BRANDS.get(manufacturer, ()):
        out[norm(alias)] = None
    return tuple(x for x in out if x)


@cache
def words(manufacturer: str) -> tuple[str, ...]:
    """Words of the name and its aliases (``SCHNEIDER``, ``SQUARE``, ``TELEMECANIQUE``...)."""
    out: dict[str, None] = {}
    for name in (manufacturer, *brands.BRANDS.get(manufacturer, ())):
        for w in brands.normalize(name).split():
            if len(w) > 1:
                out[w] = None
    return tuple(out)


def canonical_keys(text: str) -> list[str]:
    """``manufacturer_key`` of the known brand ``text`` names exactly (alias or canonical)."""
    name = brands.canonical(text)
    return [brands.normalize(name).lower()] if name else []
