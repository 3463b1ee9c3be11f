"""Documentation that is generated from the code stays in step with it."""

from pathlib import Path

from rivet_devstack.configdoc import BEGIN, END, render

ROOT = Path(__file__).parents[1]


def test_readme_configuration_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    start, stop = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:stop] == render(), (
        "README's configuration table is stale: paste `python -m rivet_devstack.configdoc`"
    )
