//! The project's binaries as real child processes.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::NamedTempFile;

/// Which binary, and which NATS user it connects as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `daa-coordinator`.
    Coordinator,
    /// `daa-structured-worker`.
    Structured,
    /// `daa-quality-worker`.
    Quality,
    /// `daa-web-worker`.
    Web,
    /// `daa-pdf-worker`.
    Pdf,
    /// `daa-neural-worker`.
    Neural,
    /// `daa-image-worker`.
    Image,
    /// `daa-test-worker` (a structured agent with injected faults; see its source).
    TestWorker,
    /// The `daa` CLI.
    Cli,
}

impl Role {
    /// Binary name.
    pub fn binary(self) -> &'static str {
        match self {
            Role::Coordinator => "daa-coordinator",
            Role::Structured => "daa-structured-worker",
            Role::Quality => "daa-quality-worker",
            Role::Web => "daa-web-worker",
            Role::Pdf => "daa-pdf-worker",
            Role::Neural => "daa-neural-worker",
            Role::Image => "daa-image-worker",
            Role::TestWorker => "daa-test-worker",
            Role::Cli => "daa",
        }
    }

    /// NATS user of the role (see nats.conf).
    pub fn user(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Structured
            | Role::Quality
            | Role::Web
            | Role::Pdf
            | Role::Neural
            | Role::Image
            | Role::TestWorker => "worker",
            Role::Cli => "client",
        }
    }

    /// Its Redis user (see redis-users.conf); the password is the NATS one.
    pub fn redis_user(self) -> &'static str {
        self.user()
    }

    /// Its development password (see nats.conf and redis-users.conf).
    pub fn password(self) -> &'static str {
        match self {
            Role::Coordinator => "daa-coordinator",
            Role::Structured
            | Role::Quality
            | Role::Web
            | Role::Pdf
            | Role::Neural
            | Role::Image
            | Role::TestWorker => "daa-worker",
            Role::Cli => "daa-client",
        }
    }
}

/// Where the daa binaries are: `$DAA_BIN_DIR`, else the target directory of this test.
pub fn bin_path(name: &str) -> PathBuf {
    let dir = match std::env::var_os("DAA_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
            // target/<profile>/deps/<test> → target/<profile>
            let mut d = exe.parent().map(PathBuf::from).unwrap_or_default();
            if d.ends_with("deps") {
                d.pop();
            }
            d
        }
    };
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --bins, as `make test` does)",
        p.display()
    );
    p
}

/// A running daa process; killed on drop. Its stderr goes to a temp file for diagnosis.
pub struct DaaProcess {
    child: Child,
    role: Role,
    log: NamedTempFile,
    /// Leads a process group of its own (a supervisor and the processes it started):
    /// dropping it kills the whole group, so no child outlives a failed test.
    group: bool,
}

impl DaaProcess {
    /// Start `role`'s binary with `vars` and `extra` in its environment.
    pub fn spawn(role: Role, vars: &[(String, String)], extra: &[(&str, &str)]) -> DaaProcess {
        Self::start(role, vars, extra, &[], false)
    }

    /// Start `role`'s binary with `args`, leading a process group of its own that is
    /// killed whole on drop (for `daa fleet up`, whose workers are its children).
    pub fn spawn_group(
        role: Role,
        vars: &[(String, String)],
        extra: &[(&str, &str)],
        args: &[&str],
    ) -> DaaProcess {
        Self::start(role, vars, extra, args, true)
    }

    fn start(
        role: Role,
        vars: &[(String, String)],
        extra: &[(&str, &str)],
        args: &[&str],
        group: bool,
    ) -> DaaProcess {
        use std::os::unix::process::CommandExt as _;
        let log = NamedTempFile::new().unwrap_or_else(|e| panic!("temp file: {e}"));
        let stderr = log.reopen().unwrap_or_else(|e| panic!("reopen: {e}"));
        let mut cmd = Command::new(bin_path(role.binary()));
        cmd.args(args);
        if group {
            cmd.process_group(0);
        }
        cmd.env_remove("DAA_CONFIG")
            .env(
                "RUST_LOG",
                std::env::var("DAA_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            // A supervisor's decisions (stdout) go to the log beside its stderr, through
            // the same open file so that neither overwrites the other.
            .stdout(if group {
                Stdio::from(stderr.try_clone().unwrap_or_else(|e| panic!("dup: {e}")))
            } else {
                Stdio::null()
            })
            .stderr(stderr);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", role.binary()));
        DaaProcess {
            child,
            role,
            log,
            group,
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }
}

impl Drop for DaaProcess {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                // `--`: without it, kill(1) takes `-<pgid>` for an option and signals
                // every process it may (kill(-1, ...)), as seen under strace.
                .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- log of {} (pid {}) ---\n{}",
                self.role.binary(),
                self.child.id(),
                self.log()
            );
        }
    }
}
