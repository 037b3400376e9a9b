//! Private `nats-server` and `redis-server` processes.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::free_port;

/// Wait until the child listens on `port`. `Err(log)` when it exited first (typically:
/// another test took the port between `free_port` and the bind; the caller retries).
fn wait_for_port(port: u16, what: &str, child: &mut Child, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!(
                "{what} exited with {status} before listening:\n{log}"
            ));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

fn find(bin: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p.to_string_lossy().into_owned();
        }
    }
    bin.to_owned()
}

fn launch_nats(dir: &Path, port: u16, monitor_port: u16) -> Child {
    let conf = dir.join("nats.conf");
    Command::new(find("nats-server"))
        .arg("-c")
        .arg(&conf)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(["-m", &monitor_port.to_string()])
        .arg("-sd")
        .arg(dir.join("jetstream"))
        .arg("-l")
        .arg(dir.join("nats.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start nats-server (install it: make deps): {e}"))
}

/// A `nats-server -js` with the project's `nats.conf`, on free ports, in a temp dir.
pub struct NatsServer {
    child: Child,
    port: u16,
    monitor_port: u16,
    dir: TempDir,
}

impl NatsServer {
    /// Start it and wait until it listens.
    pub fn start() -> NatsServer {
        Self::start_with("")
    }

    /// Start it with extra configuration lines appended to the project's `nats.conf`
    /// (e.g. `max_payload: 65536` to exercise claim checks).
    pub fn start_with(extra_conf: &str) -> NatsServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nats.conf");
        let base = std::fs::read_to_string(&project)
            .unwrap_or_else(|e| panic!("{}: {e}", project.display()));
        std::fs::write(
            dir.path().join("nats.conf"),
            format!("{base}\n{extra_conf}\n"),
        )
        .unwrap_or_else(|e| panic!("write nats.conf: {e}"));
        let mut last = String::new();
        for _ in 0..5 {
            let (port, monitor_port) = (free_port(), free_port());
            let mut child = launch_nats(dir.path(), port, monitor_port);
            match wait_for_port(
                port,
                "nats-server",
                &mut child,
                &dir.path().join("nats.log"),
            ) {
                Ok(()) => {
                    return NatsServer {
                        child,
                        port,
                        monitor_port,
                        dir,
                    }
                }
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The monitoring port.
    pub fn monitor_port(&self) -> u16 {
        self.monitor_port
    }

    /// Kill the server and start it again on the same port with the same store
    /// (JetStream file storage survives).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut child = launch_nats(self.dir.path(), self.port, self.monitor_port);
        let log = self.dir.path().join("nats.log");
        if let Err(e) = wait_for_port(self.port, "nats-server", &mut child, &log) {
            panic!("{e}");
        }
        self.child = child;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `redis-server` on a free port, in a temp dir, append-only file on.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: TempDir,
    fsync: &'static str,
}

impl RedisServer {
    /// Start it and wait until it listens (`appendfsync everysec`).
    pub fn start() -> RedisServer {
        Self::start_with_fsync("everysec")
    }

    /// Start it with `appendfsync` = `policy` (`always`, `everysec` or `no`). With
    /// `always`, every write is in the append-only file before Redis answers it, so a
    /// killed and restarted server has every write it acknowledged.
    ///
    /// It runs with the project's ACL users (redis-users.conf): every client names its
    /// user ([`RedisServer::url_as`]), as in a production setup.
    pub fn start_with_fsync(policy: &'static str) -> RedisServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match Self::launch(dir.path(), port, policy) {
                Ok(child) => {
                    return RedisServer {
                        child,
                        port,
                        dir,
                        fsync: policy,
                    }
                }
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    fn launch(dir: &Path, port: u16, fsync: &str) -> Result<Child, String> {
        let log: PathBuf = dir.join("redis.log");
        let mut child = Command::new(find("redis-server"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../redis-users.conf"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .args(["--save", "", "--appendonly", "yes", "--appendfsync", fsync])
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server (install it: make deps): {e}"));
        wait_for_port(port, "redis-server", &mut child, &log)?;
        Ok(child)
    }

    /// `redis://admin:...@127.0.0.1:<port>`: the tests' own clients read and write what
    /// no single role may.
    pub fn url(&self) -> String {
        self.url_as("admin", "daa-admin")
    }

    /// The URL of ACL user `user` (see redis-users.conf).
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("redis://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// Kill and restart on the same port and data directory (the AOF survives).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child =
            Self::launch(self.dir.path(), self.port, self.fsync).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
