-- One row that every batch's transaction locks first: the function's
-- writers take turns, so that a batch reads the rows it adds to, and its
-- users, without locking each of them. Batches already waited for each
-- other at the rows of the current minute's windows, which almost all of
-- them add to; one lock taken first costs next to no concurrency and saves
-- a row lock, and an empty row created beforehand, per row a batch reads.
CREATE TABLE analytics.writer_lock (
    id boolean PRIMARY KEY DEFAULT true CHECK (id)
);
INSERT INTO analytics.writer_lock DEFAULT VALUES;
COMMENT ON TABLE analytics.writer_lock IS
    'the one row that every batch of the analytics function locks first: its writers take turns';
