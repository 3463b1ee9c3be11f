"""File names as shown: the name the user gave, without any folder, control characters or
surrounding dots and spaces; a name left empty becomes ``file`` with the sniffed extension."""

import unicodedata
from pathlib import PurePosixPath

MAX = 255


def clean_filename(name: str, extension: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = base.strip(" .")
    if not base:
        base = "file" + (extension if extension.startswith(".") else f".{extension}")
    return base[:MAX]
