-- Whether a project syncs with the signed-in account (D6). Projects made while signed out,
-- before the user answered the offer to add them to the account, are 'offered'; the ones the
-- user chose to keep on this device are 'device'. Neither queues server operations.
ALTER TABLE projects ADD COLUMN scope TEXT NOT NULL DEFAULT 'account'
    CHECK (scope IN ('account', 'offered', 'device'));
