//! Linux process facts from `/proc`: the processes a driver started (the app and WebKit's
//! helper processes), their names and memory, and stopping them.

use std::collections::HashMap;
use std::fs;

/// `pid → parent pid` of every process.
fn parents() -> HashMap<u32, u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Every process below `root` (children, grandchildren, …).
pub fn descendants(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&pid, &ppid) in &parents {
            if ppid == p && !out.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// The command name of a process (`/proc/PID/comm`, at most 15 bytes).
pub fn name(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A `kB` field of `/proc/PID/status` or `smaps_rollup`, in bytes.
fn kb_field(file: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Resident set size of a process, bytes.
pub fn rss(pid: u32) -> Option<u64> {
    kb_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// Proportional set size (shared pages split among their users), bytes: sums across
/// processes without counting shared libraries twice.
pub fn pss(pid: u32) -> Option<u64> {
    kb_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
}

/// The GL drivers a process has mapped (Mesa's `*_dri.so`, `libgallium*`, vendor GL
/// libraries), by file name: which renderer WebGL really runs on, since WebKit masks the
/// WebGL renderer string.
pub fn gl_drivers(pid: u32) -> Vec<String> {
    let Ok(maps) = fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter_map(|path| path.rsplit('/').next())
        .filter(|f| {
            f.contains("_dri.so")
                || f.starts_with("libgallium")
                || f.starts_with("libnvidia-glcore")
                || f.starts_with("libvulkan_")
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Sends SIGKILL to a process.
/// Whether a process runs (exists and is not a zombie waiting for its parent).
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat[stat.rfind(')')? + 2..].chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

pub fn kill(pid: u32) {
    // A process may have exited since it was listed: nothing to say then.
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status();
}
