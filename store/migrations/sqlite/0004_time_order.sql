-- Entry times never decrease along ids: each append takes the later of the
-- server's clock and the previous entry's time, kept in the head row. A
-- time range then maps to a range of ids, which every filter's index
-- serves in id order. times_ordered records whether that holds for the
-- whole log: it does unless entries written before this migration went
-- back in time (a clock set back), and then listings filter on the times
-- themselves, as before.
ALTER TABLE log_head ADD COLUMN last_time INTEGER;
ALTER TABLE log_head ADD COLUMN times_ordered INTEGER NOT NULL DEFAULT 0;
UPDATE log_head SET
    last_time = (SELECT time FROM events WHERE id = log_head.last_id),
    times_ordered = NOT EXISTS (
        SELECT 1 FROM (SELECT time < LAG(time) OVER (ORDER BY id) AS back FROM events) WHERE back
    );
