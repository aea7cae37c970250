//! Sync client (in progress).
