-- Fencing a worker that lost its lease. Every claim of a job gets a number of its own
-- (`claims`, which a retry never resets, unlike `attempts`) and a lease token of its own
-- (`lease_owner`, fresh at every claim), and that claim writes only under
-- videos/{id}/{claims}/. A worker that lost its lease can then never overwrite or delete
-- what a later claim wrote; `output_prefix`, set with the completion, is the switch that
-- publishes a claim's output.
ALTER TABLE videos ADD COLUMN claims bigint NOT NULL DEFAULT 0;
ALTER TABLE videos ADD COLUMN output_prefix text;
