//! The app started as a user starts it: the binary alone on the display, no WebDriver in
//! front. Start-up is timed from the spawn to the line the app logs when the UI has drawn
//! its first canvas frame (`interactive: first canvas frame drawn ms=…`), so the figure
//! holds process start, WebKit's helper processes, the UI bundle and the first render.

use crate::app::{AppError, Profile, Result, WAIT};
use crate::display::Display;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the app logs once the canvas is interactive (`src-tauri/src/lib.rs`).
const READY_LINE: &str = "interactive: first canvas frame drawn";

/// A running app started directly; killed (with its WebKit processes) when dropped.
pub struct DirectApp {
    child: Child,
    /// Spawn to the "interactive" log line, as the bench saw it.
    pub start_up: Duration,
    /// `run()` to the first frame, as the app measured it itself (ms).
    pub logged_ms: Option<u64>,
}

impl DirectApp {
    /// Starts the app on `display` with `profile` and waits until it logs that it is interactive.
    pub fn launch(display: &Display, profile: &Profile) -> Result<Self> {
        let bin = profile.app_binary()?;
        let mut cmd = Command::new(&bin);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        profile.apply(&mut cmd, display);
        let spawned = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| AppError::Io(format!("cannot start {}", bin.display()), e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| AppError::Unexpected("the app's standard output is not piped".into()))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if line.contains(READY_LINE) {
                    let _ = tx.send((spawned.elapsed(), logged_ms(&line)));
                }
            }
        });
        match rx.recv_timeout(WAIT) {
            Ok((start_up, logged_ms)) => Ok(Self {
                child,
                start_up,
                logged_ms,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(AppError::Timeout(
                    WAIT,
                    "the app to log that it is interactive".into(),
                ))
            }
        }
    }

    /// The app's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DirectApp {
    fn drop(&mut self) {
        // WebKit's helper processes: found while the app still runs (once it is gone they
        // belong to init), stopped after it.
        let below = crate::procs::descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in below {
            crate::procs::kill(pid);
        }
    }
}

/// The `ms=…` figure of the ready line.
fn logged_ms(line: &str) -> Option<u64> {
    let rest = &line[line.find("ms=")? + 3..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_logged_figure() {
        let line = "[2026-11-22][10:00:00][iskra_desktop][INFO] interactive: first canvas frame drawn ms=412";
        assert_eq!(logged_ms(line), Some(412));
        assert_eq!(logged_ms("interactive: first canvas frame drawn"), None);
    }
}
