"""The cluster's tables are the single-node tables, rendered for shards and replicas."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from warehouse.clickhouse.ddl import TABLES, cluster_ddl

CLUSTER_SQL = Path(__file__).parents[2] / "infra" / "clickhouse" / "cluster" / "bars_cluster.sql"


def test_the_checked_in_cluster_script_is_the_generated_one():
    script = "".join(
        line for line in CLUSTER_SQL.read_text().splitlines(keepends=True) if not line.startswith("--")
    )
    assert script.lstrip("\n") == cluster_ddl(), (
        "regenerate: k2q cluster-ddl, under the file's comment header"
    )


def test_each_cluster_table_keeps_the_single_node_columns_and_keys():
    script = cluster_ddl("c1", "db1")
    for table in TABLES:
        local, distributed = table.create_on_cluster("c1", "db1")
        assert local in script
        assert distributed in script
        single = table.create()
        # Same body; only the target and the engine's Replicated prefix differ.
        assert (
            local.replace(f"db1.{table.name}_local ON CLUSTER c1", table.name).replace(
                "ENGINE = Replicated", "ENGINE = "
            )
            == single
        )
        assert f"Distributed(c1, db1, {table.name}_local, cityHash64(symbol))" in distributed


def test_the_command_prints_the_script_and_refuses_names_that_are_not_identifiers():
    runner = CliRunner()
    printed = runner.invoke(main, ["cluster-ddl", "--cluster", "prod", "--database", "k2q"])
    assert printed.exit_code == 0
    assert printed.output == cluster_ddl("prod", "k2q")

    refused = runner.invoke(main, ["cluster-ddl", "--database", "k2q; DROP TABLE bars"])
    assert refused.exit_code == 2
    assert "not a ClickHouse identifier" in refused.output


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a.b"])
def test_names_that_are_not_identifiers_are_refused(name: str):
    with pytest.raises(ValueError, match="identifier"):
        cluster_ddl(name, "k2q")
