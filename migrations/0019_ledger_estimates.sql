-- Every model call is in the ledger, however it ends. A row is written
-- before the call (outcome `in_flight`, the prompt's tokens counted here
-- and the output cap as the most it may cost) and completed after it. A
-- call that times out, or is cut off by a stop, keeps estimated tokens;
-- `estimated` says which rows hold estimates rather than the server's
-- own counts. At start, calls still in flight from before are `cancelled`.
ALTER TABLE model_calls ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
