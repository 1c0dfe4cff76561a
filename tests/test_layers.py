"""No package escapes the layer contract: every top-level package is in it, and in the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINTER = PYPROJECT["tool"]["importlinter"]


def _top_level_packages() -> set[str]:
    return {init.parent.name for init in ROOT.glob("*/__init__.py")}


def _layer_names(layers: list[str]) -> set[str]:
    return {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}


def test_every_top_level_package_is_analysed_and_layered():
    packages = _top_level_packages()
    assert packages >= {"schemas", "warehouse", "pipelines", "api", "tests", "bench"}
    assert set(LINTER["root_packages"]) == packages
    top = next(c for c in LINTER["contracts"] if c["type"] == "layers" and "containers" not in c)
    assert _layer_names(top["layers"]) == packages


def test_the_shipped_packages_are_the_layered_code():
    shipped = set(PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])
    assert shipped == _top_level_packages() - {"tests", "bench"}


def test_every_pipelines_package_is_declared_in_its_contract():
    contract = next(c for c in LINTER["contracts"] if c.get("containers") == ["pipelines"])
    assert contract["exhaustive"] is True
    children = {
        path.stem if path.suffix == ".py" else path.name
        for path in (ROOT / "pipelines").iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").exists()
    }
    assert _layer_names(contract["layers"]) == children
