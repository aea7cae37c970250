//! Counters and records on the handle, for exactly-once assertions: submits (in total, per
//! prompt, with their inputs), polls, result fetches, cancels, uploads, webhooks, job phases.

use std::sync::atomic::Ordering;

use crate::state::{lock, Submission, UploadRecord};
use crate::webhook::WebhookRecord;
use crate::FakeFal;

impl FakeFal {
    /// Every request that reached the server (injected failures included).
    pub fn requests(&self) -> usize {
        self.shared.counters.requests.load(Ordering::Relaxed)
    }

    /// Requests answered by `fail_next`/`fail_next_on`.
    pub fn injected_failures(&self) -> usize {
        self.shared
            .counters
            .injected_failures
            .load(Ordering::Relaxed)
    }

    /// Accepted submits.
    pub fn submits(&self) -> usize {
        lock(&self.shared.counters.submissions).len()
    }

    /// Accepted submits whose input's `prompt` is exactly `prompt`.
    pub fn submits_for_prompt(&self, prompt: &str) -> usize {
        self.shared
            .counters
            .per_prompt
            .get(prompt)
            .map_or(0, |n| *n)
    }

    /// Submits refused by `reject_submits` or for a body that is not a JSON object.
    pub fn rejected_submits(&self) -> usize {
        self.shared
            .counters
            .rejected_submits
            .load(Ordering::Relaxed)
    }

    /// Accepted submits in order, with their inputs.
    pub fn submissions(&self) -> Vec<Submission> {
        lock(&self.shared.counters.submissions).clone()
    }

    /// One accepted submit.
    pub fn submission(&self, request_id: &str) -> Option<Submission> {
        lock(&self.shared.counters.submissions)
            .iter()
            .find(|s| s.request_id == request_id)
            .cloned()
    }

    /// Status polls answered (any request).
    pub fn status_polls(&self) -> usize {
        self.shared.counters.status_polls.load(Ordering::Relaxed)
    }

    /// Status polls of one request.
    pub fn status_polls_for(&self, request_id: &str) -> u32 {
        self.shared.jobs.get(request_id).map_or(0, |j| j.polls)
    }

    /// `GET response_url` calls (any request, ready or not).
    pub fn result_fetches(&self) -> usize {
        self.shared.counters.result_fetches.load(Ordering::Relaxed)
    }

    /// Status/result/cancel calls on URLs rebuilt from the model id rather than given.
    pub fn naive_url_requests(&self) -> usize {
        self.shared
            .counters
            .naive_url_requests
            .load(Ordering::Relaxed)
    }

    /// Request ids of every cancel call, in order (repeats included).
    pub fn cancels(&self) -> Vec<String> {
        lock(&self.shared.counters.cancels).clone()
    }

    /// Cancel calls for one request.
    pub fn cancels_for(&self, request_id: &str) -> usize {
        lock(&self.shared.counters.cancels)
            .iter()
            .filter(|id| *id == request_id)
            .count()
    }

    /// Completed uploads (`PUT upload_url`), in order.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        lock(&self.shared.counters.uploads).clone()
    }

    /// How many uploads completed.
    pub fn upload_count(&self) -> usize {
        lock(&self.shared.counters.uploads).len()
    }

    /// Total bytes uploaded.
    pub fn uploaded_bytes(&self) -> usize {
        lock(&self.shared.counters.uploads)
            .iter()
            .map(|u| u.len)
            .sum()
    }

    /// Every webhook attempt (job deliveries, their retries and duplicates, crafted ones).
    pub fn webhooks(&self) -> Vec<WebhookRecord> {
        lock(&self.shared.counters.webhooks).clone()
    }

    /// Job webhook attempts answered with a 2xx (crafted ones not counted).
    pub fn webhooks_delivered(&self) -> usize {
        lock(&self.shared.counters.webhooks)
            .iter()
            .filter(|w| !w.crafted && w.delivered())
            .count()
    }

    /// Job webhook attempts for one request (any answer).
    pub fn webhook_attempts_for(&self, request_id: &str) -> usize {
        lock(&self.shared.counters.webhooks)
            .iter()
            .filter(|w| !w.crafted && w.request_id == request_id)
            .count()
    }

    /// Whether a job has finished (completed, failed or cancelled); `None` if unknown.
    pub fn is_completed(&self, request_id: &str) -> Option<bool> {
        self.shared.jobs.get(request_id).map(|j| j.is_completed())
    }

    /// Whether a job was cancelled before it finished.
    pub fn is_cancelled(&self, request_id: &str) -> bool {
        self.shared
            .jobs
            .get(request_id)
            .is_some_and(|j| matches!(j.outcome, Some(crate::job::Outcome::Cancelled)))
    }

    /// Jobs not finished yet.
    pub fn pending_jobs(&self) -> usize {
        self.shared
            .jobs
            .iter()
            .filter(|j| !j.is_completed())
            .count()
    }
}
