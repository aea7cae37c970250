//! A loopback TCP proxy in front of a server, for network faults the server cannot fake: it can
//! refuse connections (accept and close at once, as a dead link does), cut every live
//! connection, and — in chaos mode — cut connections at a random byte offset mid-stream, chosen
//! by a seeded RNG so a failing run can be replayed. It counts the bytes it carries each way
//! (the benchmark measures what a sync sends with it).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Random cuts: each new connection is cut with `probability`, after a uniformly random number
/// of bytes (both directions together) below `max_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub probability: f64,
    pub max_bytes: u64,
}

struct Shared {
    upstream: SocketAddr,
    refusing: AtomicBool,
    chaos: Mutex<Option<(Chaos, StdRng)>>,
    /// Bumped to cut every live connection.
    generation: watch::Sender<u64>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    connections: AtomicU64,
    cuts: AtomicU64,
}

/// The proxy; stops accepting when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let shared = Arc::new(Shared {
            upstream,
            refusing: AtomicBool::new(false),
            chaos: Mutex::new(None),
            generation: watch::channel(0).0,
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if s.refusing.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                s.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(carry(Arc::clone(&s), client));
            }
        });
        Self { addr, shared, task }
    }

    /// The URL devices use to reach the server through the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Refuses new connections and cuts the live ones (`true`), or carries them again.
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::Release);
        if refusing {
            self.cut_all();
        }
    }

    /// Cuts every live connection now.
    pub fn cut_all(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Turns random cuts on (seeded) or off.
    pub fn set_chaos(&self, chaos: Option<Chaos>, seed: u64) {
        *self.shared.chaos.lock().unwrap() = chaos.map(|c| (c, StdRng::seed_from_u64(seed)));
    }

    /// Bytes carried from clients to the server.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::Relaxed)
    }

    /// Bytes carried from the server to clients.
    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::Relaxed)
    }

    /// Connections carried so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Connections cut by chaos so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

/// Carries one connection until either side closes, it is cut, or its byte budget runs out.
async fn carry(s: Arc<Shared>, mut client: TcpStream) {
    let budget = s.chaos.lock().unwrap().as_mut().and_then(|(chaos, rng)| {
        rng.gen_bool(chaos.probability)
            .then(|| rng.gen_range(0..chaos.max_bytes.max(1)))
    });
    let mut cut = s.generation.subscribe();
    let Ok(mut server) = TcpStream::connect(s.upstream).await else {
        return; // the server is down: the client sees the connection close
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut left = budget.unwrap_or(u64::MAX);
    loop {
        let (n, to_server) = tokio::select! {
            r = cr.read(&mut up) => (r.unwrap_or(0), true),
            r = sr.read(&mut down) => (r.unwrap_or(0), false),
            _ = cut.changed() => return,
        };
        if n == 0 {
            return;
        }
        let take = (n as u64).min(left) as usize;
        let (buf, w, counter) = if to_server {
            (
                &up[..take],
                &mut sw as &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
                &s.bytes_up,
            )
        } else {
            (
                &down[..take],
                &mut cw as &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
                &s.bytes_down,
            )
        };
        if w.write_all(buf).await.is_err() {
            return;
        }
        counter.fetch_add(take as u64, Ordering::Relaxed);
        left -= take as u64;
        if left == 0 {
            s.cuts.fetch_add(1, Ordering::Relaxed);
            return; // both sockets close here, mid-stream
        }
    }
}
