-- Credits (S8). `credit_accounts` holds each user's spendable credits in two buckets (what is
-- left of the period's plan allocation, which expires at `period_end`, and granted credits,
-- which roll over) and the credits held by running generations. `credit_ledger` is the
-- append-only record of every movement; (kind, cause) is unique, so a movement happens at most
-- once whatever retries, duplicate webhooks, restarts or replicas do. The ledger's `amount`s
-- sum to allocation + grants and its `held`s to reserved.
CREATE TABLE credit_accounts (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    allocation BIGINT NOT NULL DEFAULT 0,
    grants BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    period_allocated BIGINT NOT NULL DEFAULT 0,
    period_end BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);

CREATE TABLE credit_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    held BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reserved_after BIGINT NOT NULL,
    reason TEXT NOT NULL,
    cause TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX credit_ledger_once ON credit_ledger (kind, cause);
CREATE INDEX credit_ledger_by_user ON credit_ledger (user_id, id);

-- What a generation holds and was charged; `hold_grants` is the part of the hold taken from
-- granted credits (the rest came from the allocation), so a release returns each to its bucket.
ALTER TABLE generations ADD COLUMN credits_estimated BIGINT;
ALTER TABLE generations ADD COLUMN credits_charged BIGINT;
ALTER TABLE generations ADD COLUMN hold_grants BIGINT;
