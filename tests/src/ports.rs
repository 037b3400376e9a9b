//! Free loopback ports.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back).
pub fn free_port() -> u16 {
    let l =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind a free port: {e}"));
    l.local_addr()
        .unwrap_or_else(|e| panic!("no local address: {e}"))
        .port()
}
