"""Storage: the ClickHouse bar store and the Postgres catalog."""
