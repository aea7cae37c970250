//! fal: the queue API client and webhook verification.
