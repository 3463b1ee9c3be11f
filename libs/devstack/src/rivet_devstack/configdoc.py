"""The README's configuration table, generated from the settings classes.

    uv run python -m rivet_devstack.configdoc

A test fails when the README's table differs from this output.
"""

from pydantic_settings import BaseSettings

from rivet_runtime.settings import ServiceSettings

from .services import installed

BEGIN = "<!-- config:begin -->"
END = "<!-- config:end -->"


def _services() -> list[tuple[str, type[BaseSettings]]]:
    own = [(s.name, s.load("settings")) for s in installed() if s.settings]
    return [("all services", ServiceSettings), *own]


DEVELOPMENT = [
    ("RIVET_EMBEDDED", "unset", "make run/test", "`1`: start embedded NATS and PostgreSQL "
     "even when servers answer on 4222/5432 (tests the fresh-machine path)."),
    ("PYTEST_ARGS", "unset", "make test", "Extra pytest arguments, e.g. `-k auth -x`."),
    ("BENCH_ARGS", "unset", "make bench", "Extra arguments of `bench/run_all.py`, e.g. "
     "`--quick` or `--skip search,ocr`."),
]  # fmt: skip


def _default(value: object) -> str:
    if value is None or value == "":
        return "unset"
    if value == []:
        return "`[]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def rows() -> list[str]:
    lines = ["| variable | default | used by | meaning |", "|---|---|---|---|"]
    seen: set[str] = set()
    for owner, cls in _services():
        for name, field in cls.model_fields.items():
            if owner != "all services" and name in ServiceSettings.model_fields:
                if field.default == ServiceSettings.model_fields[name].default:
                    continue
                description = f"{owner}'s default for the shared setting."
            else:
                description = field.description or ""
            key = f"{name}:{owner}"
            if key in seen:
                continue
            seen.add(key)
            default = _default(field.get_default(call_default_factory=True))
            lines.append(f"| `{name.upper()}` | {default} | {owner} | {description} |")
    for name, default, owner, description in DEVELOPMENT:
        lines.append(f"| `{name}` | {default} | {owner} | {description} |")
    return lines


def render() -> str:
    return "\n".join([BEGIN, *rows(), END])


if __name__ == "__main__":
    print(render())
