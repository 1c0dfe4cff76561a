"""Settings are read once from the environment, and every variable is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import ENVIRONMENT_VARIABLES, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults():
    settings = Settings.from_env({})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.server.is_loopback
    assert settings.stores.data_dir == Path(".k2q")
    assert settings.stores.clickhouse_url is None
    assert settings.polygon.api_key is None
    assert settings.polygon.base_url == "https://api.polygon.io"


def test_values_from_the_environment():
    settings = Settings.from_env(
        {
            "K2Q_HOST": "0.0.0.0",
            "K2Q_PORT": "9000",
            "K2Q_DATA_DIR": "/srv/k2q",
            "CLICKHOUSE_URL": "http://ch:8123",
            "POLYGON_API_KEY": " key ",
            "POLYGON_BASE_URL": "https://api.massive.com",
            "K2Q_SEED_DEMO": "false",
        }
    )
    assert not settings.server.is_loopback
    assert settings.server.url == "http://127.0.0.1:9000"
    assert settings.stores.data_dir == Path("/srv/k2q")
    assert settings.stores.clickhouse_url == "http://ch:8123"
    assert settings.polygon.api_key == "key"
    assert settings.polygon.base_url == "https://api.massive.com"
    assert settings.seed_demo is False


@pytest.mark.parametrize(
    ("name", "value"), [("K2Q_PORT", "http"), ("K2Q_PORT", "70000"), ("POLYGON_MAX_IN_FLIGHT", "x")]
)
def test_bad_values_are_named(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_every_variable_is_documented_in_the_readme():
    readme = README.read_text()
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in readme]
    assert not missing


def test_readme_quick_start_is_two_commands():
    readme = README.read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = quick_start.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["just up", "just test"]
