"""The Postgres catalog: datasets, strategies, jobs, and the migrations that shape them."""
