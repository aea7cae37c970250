//! A local fake of fal (queue API, storage upload, Ed25519-signed webhooks) for tests.
