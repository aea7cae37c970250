-- The outbox's `last_error` is a typed value: `OpError` of the engine's store/outbox.rs as JSON,
-- tagged by `kind`, written and read by serde. Rows written by earlier versions held ad-hoc
-- JSON ({"status", "error"}, {"status": 429, "error", "retryAfterSecs"}, {"status", "message"}
-- or {"message"}); they are converted here, once.
UPDATE outbox SET last_error = CASE
    WHEN json_type(last_error, '$.error') = 'object' AND json_extract(last_error, '$.status') = 401
        THEN json_object('kind', 'unauthenticated', 'error', json_extract(last_error, '$.error'))
    WHEN json_type(last_error, '$.error') = 'object' AND json_extract(last_error, '$.status') = 429
        THEN json_object('kind', 'rateLimited', 'error', json_extract(last_error, '$.error'),
                         'retryAfterSecs', json_extract(last_error, '$.retryAfterSecs'))
    WHEN json_extract(last_error, '$.error.code') = 'STORAGE_QUOTA_EXCEEDED'
        THEN json_object('kind', 'quota', 'error', json_extract(last_error, '$.error'))
    WHEN json_type(last_error, '$.error') = 'object'
        THEN json_object('kind', 'rejected', 'status', json_extract(last_error, '$.status'),
                         'error', json_extract(last_error, '$.error'))
    WHEN json_type(last_error, '$.status') = 'integer'
        THEN json_object('kind', 'server', 'status', json_extract(last_error, '$.status'),
                         'code', 'INTERNAL',
                         'message', coalesce(json_extract(last_error, '$.message'), ''))
    WHEN json_extract(last_error, '$.message') = 'not signed in'
        THEN json_object('kind', 'notSignedIn')
    WHEN json_extract(last_error, '$.message') LIKE 'network error: %'
        THEN json_object('kind', 'network',
                         'message', substr(json_extract(last_error, '$.message'), 16))
    -- A store task that panicked was recorded as a malformed response; it was a panic.
    WHEN json_extract(last_error, '$.message')
            LIKE 'unexpected response from the server: store task failed: % panicked%'
        THEN json_object('kind', 'panicked',
                         'message', substr(json_extract(last_error, '$.message'), 57))
    WHEN json_extract(last_error, '$.message')
            LIKE 'unexpected response from the server: store task failed: %'
        THEN json_object('kind', 'local',
                         'message', substr(json_extract(last_error, '$.message'), 38))
    WHEN json_extract(last_error, '$.message') LIKE 'unexpected response from the server: %'
        THEN json_object('kind', 'protocol',
                         'message', substr(json_extract(last_error, '$.message'), 38))
    ELSE json_object('kind', 'local',
                     'message', coalesce(json_extract(last_error, '$.message'), last_error))
END
WHERE last_error IS NOT NULL AND json_valid(last_error)
  AND json_type(last_error) = 'object' AND json_type(last_error, '$.kind') IS NULL;

UPDATE outbox SET last_error = json_object('kind', 'local', 'message', last_error)
WHERE last_error IS NOT NULL
  AND (NOT json_valid(last_error) OR json_type(last_error) != 'object');
