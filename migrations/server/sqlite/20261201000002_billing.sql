-- Stripe billing (S11). A user's Stripe customers (linked at checkout, or from a subscription's
-- `metadata.user_id`) and subscriptions are per user and go with the user. Each subscription
-- keeps the order key of the last event applied to it — (event `created`, type rank, event id),
-- rank 0 created, 1 updated, 2 deleted — so an older event delivered late is ignored; `ended`
-- is set by `customer.subscription.deleted` and is final. `stripe_events` records every event id
-- handled, so a redelivery changes nothing. `users.billing_status` is what `/v1/me` shows;
-- `billing_status_at` is the `created` of the event that set it (older events do not win).
-- `users.subscribed` is 1 while a subscription is in force (its invoices allocate credits).
ALTER TABLE users ADD COLUMN billing_status TEXT NOT NULL DEFAULT 'none';
ALTER TABLE users ADD COLUMN billing_status_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN subscribed BIGINT NOT NULL DEFAULT 0;

CREATE TABLE stripe_customers (
    customer_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX stripe_customers_by_user ON stripe_customers (user_id, created_at);

CREATE TABLE stripe_subscriptions (
    subscription_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    price_id TEXT NOT NULL,
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    ended BIGINT NOT NULL DEFAULT 0,
    event_created BIGINT NOT NULL,
    event_rank BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX stripe_subscriptions_by_user ON stripe_subscriptions (user_id);

CREATE TABLE stripe_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    created BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
