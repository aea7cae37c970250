//! A private X display for the app: `Xvfb` on the first free display number (it reports the
//! number itself through `-displayfd`), stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Why a display could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error("cannot start Xvfb (apt install xvfb): {0}")]
    Spawn(std::io::Error),
    #[error("Xvfb did not report its display number")]
    NoNumber,
}

/// A running Xvfb.
pub struct Display {
    child: Child,
    name: String,
}

impl Display {
    /// Starts Xvfb with one screen of `width`×`height` pixels at 24-bit colour.
    pub fn start(width: u32, height: u32) -> Result<Self, DisplayError> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(DisplayError::Spawn)?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or(DisplayError::NoNumber)?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|_| DisplayError::NoNumber)?;
        let number: u32 = match line.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(DisplayError::NoNumber);
            }
        };
        Ok(Self {
            child,
            name: format!(":{number}"),
        })
    }

    /// The `DISPLAY` value (`:N`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
