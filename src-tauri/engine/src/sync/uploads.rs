//! The asset lane of a sync pass: uploads and deletes of assets, in outbox order. Uploads
//! stream the cached file after a `HEAD` shows the server lacks it; on
//! `STORAGE_QUOTA_EXCEEDED` they pause (for [`UPLOAD_PAUSE`], or until an asset delete or a
//! quota event frees space) while canvas sync goes on.

use super::api::ApiClient;
use super::flush::Failed;
use super::{SyncClient, SyncError, SyncReport};
use crate::store::outbox::{OpPayload, OutboxOp};
use crate::store::{now_ms, settings};
use std::time::Duration;

/// How long uploads stay paused after `STORAGE_QUOTA_EXCEEDED` before one is tried again
/// (sooner when an asset delete or a quota event frees space).
pub const UPLOAD_PAUSE: Duration = Duration::from_secs(600);

impl SyncClient {
    pub(super) async fn flush_assets(
        &self,
        ops: &[OutboxOp],
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let mut paused_until: u64 = self
            .on_engine(|e| e.setting(settings::UPLOADS_PAUSED_UNTIL))
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for op in ops {
            let now = now_ms();
            let is_upload = matches!(op.payload, OpPayload::AssetUpload { .. });
            if op.next_attempt_ms > now || (is_upload && paused_until > now) {
                report.deferred += 1;
                continue;
            }
            let id = op.op_id;
            self.on_engine(move |e| e.ops_in_flight(&[id])).await?;
            let result = match &op.payload {
                OpPayload::AssetUpload { sha256 } => upload(self, &self.api, sha256).await,
                OpPayload::AssetDelete { sha256 } => {
                    let r = self.api.delete_asset(sha256).await;
                    if r.is_ok() && paused_until > 0 {
                        // Space was freed: let uploads try again.
                        paused_until = 0;
                        self.on_engine(|e| e.remove_setting(settings::UPLOADS_PAUSED_UNTIL))
                            .await?;
                    }
                    r
                }
                other => Err(SyncError::Protocol(format!(
                    "{} in the asset lane",
                    other.kind()
                ))),
            };
            match result {
                Ok(()) => {
                    self.on_engine(move |e| e.ops_done(&[id])).await?;
                    report.sent += 1;
                }
                Err(err) if err.is_quota_exceeded() => {
                    paused_until = now_ms() + UPLOAD_PAUSE.as_millis() as u64;
                    let reason = match &err {
                        SyncError::Rejected { error, .. } => error.message.clone(),
                        other => other.to_string(),
                    };
                    let body = err.to_op_error();
                    self.on_engine(move |e| {
                        e.set_setting(settings::UPLOADS_PAUSED_UNTIL, &paused_until.to_string())?;
                        e.set_setting(settings::UPLOADS_PAUSED_REASON, &reason)?;
                        e.ops_postpone(&[id], paused_until, &body)
                    })
                    .await?;
                    report.deferred += 1;
                }
                Err(err) => {
                    let refused = !err.is_retryable() && !err.stops_sync();
                    match self.settle(vec![id], op.attempts, err).await? {
                        Failed::Stop(err) => return Err(err),
                        Failed::Continue if refused => report.rejected += 1,
                        Failed::Continue => report.deferred += 1,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Uploads a cached asset unless the server already has it.
pub(super) async fn upload(
    client: &SyncClient,
    api: &ApiClient,
    sha256: &str,
) -> Result<(), SyncError> {
    let sha = sha256.to_owned();
    let Some(record) = client.on_engine(move |e| e.asset(&sha)).await? else {
        // Deleted locally before it was sent: nothing to upload.
        return Ok(());
    };
    if !api.has_asset(sha256).await? {
        let path = client.engine.asset_path(&record);
        api.upload_asset(sha256, &path, &record.mime).await?;
    }
    let sha = sha256.to_owned();
    client.on_engine(move |e| e.mark_asset_uploaded(&sha)).await
}
