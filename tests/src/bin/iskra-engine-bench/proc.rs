//! What Linux says about this process and the machine (`/proc`): resident memory now and at
//! its peak, and the load average. Unknown figures (another OS) read as zero / "unknown".

/// A `/proc/self/status` field in bytes (its value is in kB).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident set size of this process now, in bytes.
pub fn rss() -> u64 {
    status_bytes("VmRSS")
}

/// The part of [`rss`] that maps files (the database's pages read through SQLite's memory
/// map: page cache, shared, reclaimable), in bytes.
pub fn rss_file() -> u64 {
    status_bytes("RssFile")
}

/// The largest resident set size this process had, in bytes.
pub fn peak_rss() -> u64 {
    status_bytes("VmHWM")
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    let all = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let three: Vec<&str> = all.split_whitespace().take(3).collect();
    if three.len() == 3 {
        three.join(" ")
    } else {
        "unknown".into()
    }
}
