//! The poster frame of a shared video, for its link preview: the first frame, taken by an
//! `ffmpeg` program (the server decodes no video itself; `ffmpeg` knows every codec a phone
//! or a model writes). It runs as a child process with the video in a temporary file, no
//! input, a bounded output and a deadline, and is killed when dropped. Without the program, or
//! when it cannot read the video, the caller falls back to the neutral placeholder.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Longest time `ffmpeg` may take for one frame.
const DEADLINE: Duration = Duration::from_secs(20);
/// Largest frame accepted from `ffmpeg` (a PNG of the biggest allowed frame fits).
const MAX_FRAME_BYTES: u64 = 64 * 1024 * 1024;

/// Why no poster frame was taken.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("no ffmpeg program is configured")]
    Unconfigured,
    #[error("running {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
    #[error("ffmpeg took longer than {0:?}")]
    Timeout(Duration),
    #[error("ffmpeg could not read the video: {0}")]
    Failed(String),
}

/// The first frame of the video at `video` as PNG bytes, taken by `program`.
pub async fn first_frame(program: &str, video: &Path) -> Result<Vec<u8>, PosterError> {
    if program.trim().is_empty() {
        return Err(PosterError::Unconfigured);
    }
    let mut child = Command::new(program)
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| PosterError::Spawn {
            program: program.to_owned(),
            source,
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let run = async {
        let mut frame = Vec::new();
        let mut err = Vec::new();
        let mut stdout = stdout.take(MAX_FRAME_BYTES);
        let mut stderr = stderr.take(4096);
        let (read, _) = tokio::join!(stdout.read_to_end(&mut frame), stderr.read_to_end(&mut err));
        let status = child.wait().await;
        (read, status, frame, err)
    };
    let (read, status, frame, err) = tokio::time::timeout(DEADLINE, run)
        .await
        .map_err(|_| PosterError::Timeout(DEADLINE))?;
    let failed = |why: String| PosterError::Failed(why);
    read.map_err(|e| failed(e.to_string()))?;
    let status = status.map_err(|e| failed(e.to_string()))?;
    if !status.success() || frame.is_empty() {
        let said = String::from_utf8_lossy(&err);
        return Err(failed(format!("{status}: {}", said.trim())));
    }
    Ok(frame)
}
