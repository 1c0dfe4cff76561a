-- Data quality of each dataset, recorded after each backfill: the summary the dataset list shows
-- (a DataQuality as JSON) and every gap for the chart, as three parallel arrays (UTC epoch ms).
-- depends: 0005_fetch_windows

CREATE TABLE dataset_quality (
    table_name  text        PRIMARY KEY REFERENCES datasets (table_name) ON DELETE CASCADE ON UPDATE CASCADE,
    assessed_at timestamptz NOT NULL,
    summary     jsonb       NOT NULL,
    gap_starts  bigint[]    NOT NULL,
    gap_ends    bigint[]    NOT NULL,
    gap_missing bigint[]    NOT NULL,
    CHECK (cardinality(gap_starts) = cardinality(gap_ends)
           AND cardinality(gap_ends) = cardinality(gap_missing))
);
