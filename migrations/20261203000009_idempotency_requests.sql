-- What request an Idempotency-Key was first sent with (a SHA-256, hex, of its kind, query and,
-- for an import, its body): a later request with the same key but another request is refused
-- (422 `idempotency-key-reused`) instead of answered with the first one's video. NULL for the
-- keys recorded before; those match any request.
ALTER TABLE idempotency_keys ADD COLUMN request text;
