//! Behaviour switches on the handle: progress model and releases, failure injection, bad
//! outputs, webhook quirks. Each takes effect for the next request it concerns.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::Value;

use crate::config::{DownMode, OutputMode, Progress, ResultFailure, Route};
use crate::state::{lock, FailRule, Shared};
use crate::webhook::spawn_delivery;
use crate::FakeFal;

impl FakeFal {
    /// The progress model of jobs submitted from now on.
    pub fn set_progress(&self, progress: Progress) {
        *lock(&self.shared.controls.progress) = progress;
    }

    /// Completes a held (or any unfinished) job now, sending its webhook; false if it is
    /// unknown or already finished.
    pub fn release(&self, request_id: &str) -> bool {
        release(&self.shared, request_id)
    }

    /// Completes every held job; returns how many.
    pub fn release_all(&self) -> usize {
        release_all(&self.shared)
    }

    /// The next `n` requests of any kind answer `status` with `{"detail":…}`.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.fail_next_on(Route::Any, n, status);
    }

    /// The next `n` requests of kind `route` answer `status` with `{"detail":…}`.
    pub fn fail_next_on(&self, route: Route, n: usize, status: u16) {
        lock(&self.shared.controls.fail_rules).push(FailRule {
            route,
            remaining: n,
            status,
        });
    }

    /// While true, every request answers 503.
    pub fn set_down(&self, down: bool) {
        let mode = if down {
            DownMode::Unavailable
        } else {
            DownMode::Up
        };
        self.shared.controls.set_down(mode);
    }

    /// Up, every request 503, or every connection closed without an answer.
    pub fn set_down_mode(&self, mode: DownMode) {
        self.shared.controls.set_down(mode);
    }

    /// Every submit answers `status` with `{"detail": detail}` until `accept_submits`.
    pub fn reject_submits(&self, status: u16, detail: Value) {
        *lock(&self.shared.controls.reject_submits) = Some((status, detail));
    }

    /// Undoes `reject_submits`.
    pub fn accept_submits(&self) {
        *lock(&self.shared.controls.reject_submits) = None;
    }

    /// How jobs completing from now on fail (or `ResultFailure::None`).
    pub fn fail_results(&self, mode: ResultFailure) {
        *lock(&self.shared.controls.result_failure) = mode;
    }

    /// Jobs whose prompt contains `marker` fail with `mode` when they complete, from now on and
    /// whatever `fail_results` says: a failure tied to the job, not to when it completes.
    pub fn fail_results_for_prompts_containing(&self, marker: &str, mode: ResultFailure) {
        *lock(&self.shared.controls.prompt_failure) = Some((marker.to_owned(), mode));
    }

    /// The next status poll answers `{"status":"WEIRD_NEW_STATE"}` (and does not advance).
    pub fn unknown_status_once(&self) {
        self.shared
            .controls
            .unknown_status_once
            .store(true, Ordering::Relaxed);
    }

    /// Where the output URLs of jobs completing from now on point.
    pub fn set_output_mode(&self, mode: OutputMode) {
        *lock(&self.shared.controls.output_mode) = mode;
    }

    /// Each webhook is delivered `n` times (1 = normal).
    pub fn duplicate_webhooks(&self, n: usize) {
        self.shared
            .controls
            .duplicate_webhooks
            .store(n, Ordering::Relaxed);
    }

    /// Successful webhooks carry `payload: null` and `payload_error` instead of the output.
    pub fn webhook_payload_error(&self, on: bool) {
        self.shared
            .controls
            .webhook_payload_error
            .store(on, Ordering::Relaxed);
    }

    /// No webhooks are sent for jobs completing while on.
    pub fn suppress_webhooks(&self, on: bool) {
        self.shared
            .controls
            .suppress_webhooks
            .store(on, Ordering::Relaxed);
    }

    /// Webhooks carry a `gateway_request_id` different from `request_id` (as after a retry).
    pub fn webhook_gateway_retry(&self, on: bool) {
        self.shared
            .controls
            .webhook_gateway_retry
            .store(on, Ordering::Relaxed);
    }

    /// Status/result/cancel URLs rebuilt from the model id answer 404 (they are always counted
    /// in `naive_url_requests`).
    pub fn set_strict_urls(&self, on: bool) {
        self.shared
            .controls
            .strict_urls
            .store(on, Ordering::Relaxed);
    }
}

pub(crate) fn release(shared: &Arc<Shared>, request_id: &str) -> bool {
    let pending = match shared.jobs.get_mut(request_id) {
        Some(mut j) if !j.is_completed() => j.complete(shared),
        _ => return false,
    };
    if let Some(p) = pending {
        spawn_delivery(shared, p);
    }
    shared.touch();
    true
}

pub(crate) fn release_all(shared: &Arc<Shared>) -> usize {
    let mut pending = Vec::new();
    let mut n = 0;
    for mut j in shared.jobs.iter_mut() {
        if j.progress == Progress::Hold && !j.is_completed() {
            n += 1;
            pending.extend(j.complete(shared));
        }
    }
    for p in pending {
        spawn_delivery(shared, p);
    }
    shared.touch();
    n
}
