-- Claims on series by the writers storing them now (a fetch, an import, a flat-file load, a live
-- stream): one row per series and writer run (``holder``), symbol '*' for a lease on the whole
-- market of one bar width. A series is bound to the source of its datasets; while nothing is
-- registered yet, a fresh claim binds it. Writers claim before they write and drop their rows
-- when they end; a crashed writer's rows go stale and are then taken over.
-- depends: 0006_dataset_quality

CREATE TABLE series_claims (
    multiplier integer     NOT NULL,
    timespan   text        NOT NULL,
    adjusted   boolean     NOT NULL,
    symbol     text        NOT NULL,
    holder     text        NOT NULL,
    source     text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (multiplier, timespan, adjusted, symbol, holder)
);

CREATE INDEX series_claims_holder_idx ON series_claims (holder);
