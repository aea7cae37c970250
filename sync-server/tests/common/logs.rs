//! Everything the server logs in a test binary, captured in memory, for the checks that a
//! secret (an API key, a client address) is never written to the logs.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged since [`capture_logs`] (all levels of the filter below).
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (once per binary): the server's own logs at every level
/// and those of its HTTP, database and Redis layers.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let filter = tracing_subscriber::EnvFilter::new(
            "debug,iskra_server=trace,iskra_limiter=trace,iskra_auth=trace,tower_http=trace",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    });
}

/// The logs captured so far.
pub fn logs() -> String {
    let buf = LOGS.get().expect("capture_logs() first");
    String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}
