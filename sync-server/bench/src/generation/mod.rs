//! Generation pipeline load: each figure runs on its own `iskra-server` process (fresh data
//! directory, settings given as environment as a deployment would) wired to a fake fal that
//! runs in this process — a separate HTTP server on loopback (`iskra-fake-fal`). Users are
//! enterprise-tier with the generation windows made unlimited, so the rate limiter never
//! refuses a submit, and are granted [`CREDITS`] through the admin command, so every job is
//! paid for (held at submit, charged on completion) whatever a run's size; each has a project
//! whose canvas receives the outputs.
//!
//! 1. [`submit`]: `POST /v1/generations` latency, 50 users paced.
//! 2. [`queued`]: server memory with 10,000 jobs waiting `queued`.
//! 3. [`webhook`]: fal completion → `generation.updated` on a connected device.
//! 4. [`throughput`]: jobs completed per second through the whole pipeline.

mod events;
mod queued;
mod submit;
mod throughput;
mod webhook;

use crate::load::Span;
use crate::report::Report;
use crate::server::Server;
use crate::sync::new_project;
use anyhow::{ensure, Result};
use futures::{StreamExt, TryStreamExt};
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_protocol::{Credits, Generation, GenerationKind, GenerationStatus, NewGeneration, Page};
use std::path::Path;
use uuid::Uuid;

pub use throughput::Tuning;

/// The enterprise tier's standard-generation windows (5/min, 15/h by default), made
/// unlimited (-1) so that the limiter never refuses a submit.
const UNLIMITED_WINDOWS: [&str; 3] = [
    "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__MINUTE",
    "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__HOUR",
    "ISKRA_RATE_LIMITS__GENERATION_ENTERPRISE__STANDARD__DAY",
];
/// Credits granted to each user: 3,000,000 jobs at the default price of 3, far beyond any run
/// (the enterprise plan's 10,000 a month would pay for 3,333).
pub const CREDITS: u32 = 10_000_000;
/// Users being set up (token minted, credits granted, project created) at once.
const SETUP_AT_ONCE: usize = 8;

/// One of the generation figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Submit,
    Queued,
    Webhook,
    Throughput,
}

/// What the generation figures are run with.
pub struct Options {
    /// The figures to measure.
    pub figures: Vec<Figure>,
    /// The timed span of the submit-latency run.
    pub span: Span,
    /// Jobs submitted and held `queued` for the memory figure.
    pub queued: usize,
    /// Jobs completed by webhook for the delivery-latency figure.
    pub webhooks: usize,
    /// Jobs and users of the throughput run, and its server settings.
    pub jobs: usize,
    pub users: usize,
    pub tuning: Tuning,
}

/// A server wired to a fake fal.
pub struct Pipeline {
    pub fal: FakeFal,
    pub server: Server,
    /// What the figure's server ran with, as shown in the report.
    label: &'static str,
}

impl Pipeline {
    /// Starts a fake fal with `progress` and a server pointed at it with `settings` added to
    /// the environment; with `webhook`, the server's public URL is its own address, so fal
    /// is asked to send webhooks to it.
    pub async fn start(
        bin: &Path,
        label: &'static str,
        progress: Progress,
        webhook: bool,
        settings: &[(&'static str, String)],
    ) -> Result<Self> {
        let fal = FakeFal::start(FakeConfig::with_progress(progress)).await;
        let env = |base: &str| {
            let mut env = vec![
                ("ISKRA_FAL_KEY", fal.key()),
                ("ISKRA_FAL_QUEUE_URL", fal.queue_url()),
                ("ISKRA_FAL_REST_URL", fal.rest_url()),
                ("ISKRA_FAL_JWKS_URL", fal.jwks_url()),
            ];
            env.extend(UNLIMITED_WINDOWS.map(|w| (w, "-1".to_owned())));
            if webhook {
                env.push(("ISKRA_PUBLIC_URL", base.to_owned()));
            }
            env.extend(settings.iter().cloned());
            env
        };
        let server = Server::start_with(bin, env).await?;
        eprintln!("iskra-bench: {label}: server pid {}", server.pid());
        Ok(Self { fal, server, label })
    }

    /// `n` users named `{prefix}-{i}`, each with a token and a project.
    pub async fn users(&self, prefix: &str, n: usize) -> Result<Vec<User>> {
        futures::stream::iter(0..n)
            .map(|i| User::new(&self.server, format!("{prefix}-{i}")))
            .buffered(SETUP_AT_ONCE)
            .try_collect()
            .await
    }

    /// Stops the server; adds a note when it logged warnings or errors.
    pub async fn stop(self, notes: &mut Vec<String>) {
        let (lines, tail) = self.server.log_tail();
        self.server.stop().await;
        if lines > 0 {
            let label = self.label;
            notes.push(format!(
                "{label} server log: {lines} line(s) at level warn or above; the last:\n{tail}"
            ));
        }
    }
}

/// An enterprise user with a project, submitting text-to-image jobs.
pub struct User {
    pub name: String,
    http: reqwest::Client,
    token: String,
    project: Uuid,
    url: String,
    credits_url: String,
}

impl User {
    /// Mints a token for `name` (created enterprise), grants it [`CREDITS`] and creates a
    /// project.
    pub async fn new(server: &Server, name: String) -> Result<Self> {
        let token = server.token(&name).await?;
        server.grant(&name, CREDITS).await?;
        let http = reqwest::Client::new();
        let project = new_project(server, &http, &token).await?;
        Ok(Self {
            name,
            http,
            token,
            project,
            url: server.url("/v1/generations"),
            credits_url: server.url("/v1/credits"),
        })
    }

    /// The user's bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Submits a one-image job for the project with a fresh placeholder element (202
    /// expected). Distinct prompts give distinct outputs, so storing never deduplicates.
    pub async fn submit(&self, prompt: String) -> Result<Generation> {
        let body = NewGeneration {
            kind: GenerationKind::TextToImage,
            model: None,
            prompt,
            image_asset_id: None,
            params: None,
            project_id: Some(self.project),
            element_id: Some(Uuid::new_v4()),
        };
        let request = self.http.post(&self.url).bearer_auth(&self.token);
        let r = request.json(&body).send().await?;
        let status = r.status();
        ensure!(status == 202, "submit: {status}: {}", r.text().await?);
        Ok(r.json().await?)
    }

    /// The user's credits (`GET /v1/credits`).
    pub async fn credits(&self) -> Result<Credits> {
        let request = self.http.get(&self.credits_url).bearer_auth(&self.token);
        let r = request.send().await?;
        let status = r.status();
        ensure!(
            status.is_success(),
            "credits: {status}: {}",
            r.text().await?
        );
        Ok(r.json().await?)
    }

    /// One page of the user's jobs with `status` (all when `None`).
    pub async fn list(
        &self,
        status: Option<GenerationStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<Generation>> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(s) = status {
            query.push((
                "status",
                serde_json::to_value(s)?.as_str().unwrap_or("").into(),
            ));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let request = self.http.get(&self.url).bearer_auth(&self.token);
        let r = request.query(&query).send().await?;
        let status = r.status();
        ensure!(status.is_success(), "list: {status}: {}", r.text().await?);
        Ok(r.json().await?)
    }
}

/// Measurements 6–9: the generation pipeline.
pub async fn run(bin: &Path, opts: &Options, report: &mut Report) -> Result<()> {
    for figure in &opts.figures {
        match figure {
            Figure::Submit => submit::run(bin, opts.span, report).await?,
            Figure::Queued => queued::run(bin, opts.queued, report).await?,
            Figure::Webhook => webhook::run(bin, opts.webhooks, report).await?,
            Figure::Throughput => {
                throughput::run(bin, opts.jobs, opts.users, &opts.tuning, report).await?
            }
        }
    }
    Ok(())
}
