"""Documentation that is generated from the code stays in step with it."""

import re
from pathlib import Path

from rivet_devstack.configdoc import BEGIN, END, render
from rivet_devstack.keys import generate
from rivet_gateway.app import create_app
from rivet_gateway.settings import GatewaySettings
from rivet_runtime.service import ServiceRuntime

ROOT = Path(__file__).parents[1]


def test_readme_configuration_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    start, stop = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:stop] == render(), (
        "README's configuration table is stale: paste `python -m rivet_devstack.configdoc`"
    )


def test_readme_has_a_curl_example_for_every_route() -> None:
    """Every route of the gateway's OpenAPI document appears in a README curl example."""
    settings = GatewaySettings.model_validate({"jwt_public_key": generate()[1]})
    schema = create_app(ServiceRuntime(settings, None)).openapi()
    readme = (ROOT / "README.md").read_text()
    curls = [line for line in readme.splitlines() if "curl " in line or line.startswith("  ")]
    missing = []
    for path, operations in schema["paths"].items():
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"[^/ ?\"]+", pattern)
        for method in operations:
            if method.upper() == "DELETE":
                continue  # documented as 405: assets are retired, not deleted
            verb = "" if method == "get" else f"-X {method.upper()} "
            wanted = re.compile(rf"curl -s {re.escape(verb)}\"?\$API{pattern}[\"? ]")
            if not any(wanted.search(line) for line in curls):
                missing.append(f"{method.upper()} {path}")
    assert missing == [], "README lacks curl examples for: " + ", ".join(missing)
