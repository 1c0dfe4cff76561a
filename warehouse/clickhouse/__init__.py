"""The ClickHouse bar store: tables, bucket SQL, inserts and reads."""
