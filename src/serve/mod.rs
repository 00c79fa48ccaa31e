//! `ainrec serve`: a small static file server for the web page (native only).
//!
//! Why our own: the page needs particular headers on *every* response, module scripts and the
//! worker included — the Content-Security-Policy of DESIGN.md §6, cross-origin isolation
//! (COOP/COEP, for threads later), `nosniff`, and `application/wasm` so that
//! `WebAssembly.instantiateStreaming` accepts the module — and a server that hostile but valid
//! clients cannot lock up. The small crate this used before (tiny_http) has no per-connection
//! timeouts and no bound on a header line: four clients that never read their responses held
//! all its workers, and one 300 MB header line cost 307 MB. The async servers that do have them
//! (hyper and what is built on it) bring a runtime the size of the rest of the build. So: one
//! thread per connection, at most [`ServeConfig::max_connections`] of them; read and write
//! timeouts on every socket and a deadline for each request head ([`ServeConfig`]); heads read
//! with bounded lengths ([`http`]); files chosen by [`files::resolve`].
//!
//! Safety: it binds to 127.0.0.1 unless told otherwise, serves only regular files below its
//! root (percent-decoded paths with `..`, backslashes, NUL or any component that resolves
//! outside the root are refused with 403; dotfiles are 404), answers only GET and HEAD, and —
//! bound to a loopback address — only requests whose `Host` names that address or `localhost`
//! (421 otherwise), so a web page elsewhere cannot reach it through DNS rebinding.

pub mod files;
pub mod http;

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use files::{content_type, resolve, security_headers, Refusal, CSP};
use http::{read_head, truncate, write_head, Head, Limits};

use crate::error::{Error, Result};

/// Timeouts and bounds of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    /// A request head (request line and header fields) must arrive within this time of its
    /// first byte being awaited; an idle kept-alive connection is closed after it too.
    pub head_timeout: Duration,
    /// Each write of a response may block this long (a client that stops reading is dropped).
    pub write_timeout: Duration,
    /// Connections served at once; one more gets 503 and is closed.
    pub max_connections: usize,
    /// Requests served on one connection before it is closed.
    pub max_requests_per_connection: usize,
    /// Bounds of a request head.
    pub limits: Limits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_connections: 128,
            max_requests_per_connection: 1000,
            limits: Limits::default(),
        }
    }
}

/// A bound server; call [`StaticServer::run`] to serve.
pub struct StaticServer {
    listener: TcpListener,
    root: PathBuf,
    addr: SocketAddr,
    config: ServeConfig,
}

/// The `Host` values a server bound to `addr` answers: on loopback, the address or
/// `localhost`, with the bound port or none; bound elsewhere (a LAN address, or all
/// interfaces), any — the visitor chose to be reached by other names.
fn host_allowed(addr: SocketAddr, host: Option<&str>) -> bool {
    if !addr.ip().is_loopback() {
        return true;
    }
    let Some(host) = host else { return false };
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && !p.contains(']') => (n, Some(p)),
        _ => (host, None),
    };
    if port.is_some_and(|p| p != addr.port().to_string()) {
        return false;
    }
    let name = name.to_ascii_lowercase();
    let ip = match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    name == ip || name == "localhost"
}

/// A reader whose every read waits at most until `deadline`; `got` counts the bytes read
/// since the deadline was set (a head had begun when it timed out).
struct Deadline<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
    got: usize,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head timeout",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut s = self.stream;
        let n = s.read(buf)?;
        self.got += n;
        Ok(n)
    }
}

/// Answers `status` with a one-line plain-text body and the security headers.
fn write_plain(
    w: &mut impl Write,
    status: u16,
    body: &str,
    extra: &[(&str, &str)],
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut headers = security_headers();
    headers.push(("Content-Type", "text/plain; charset=utf-8"));
    headers.extend_from_slice(extra);
    let body = format!("{body}\n");
    write_head(w, status, &headers, body.len() as u64, keep_alive)?;
    if !head_only {
        w.write_all(body.as_bytes())?;
    }
    Ok(())
}

/// Answers one request; returns whether the connection may go on.
fn respond(
    w: &mut impl Write,
    root: &Path,
    addr: SocketAddr,
    head: &Head,
    keep: bool,
) -> io::Result<bool> {
    let head_only = head.method == "HEAD";
    if head.method != "GET" && !head_only {
        write_plain(
            w,
            405,
            "method not allowed",
            &[("Allow", "GET, HEAD")],
            false,
            false,
        )?;
        return Ok(false);
    }
    // HTTP/1.0 may omit Host; HTTP/1.1 may not (RFC 9112 §3.2).
    let host = head.header("host");
    let host_ok = host_allowed(addr, host) || (head.minor == 0 && host.is_none());
    if !host_ok {
        let msg = format!(
            "this server answers only requests for {addr} or localhost (Host: {})",
            truncate(head.header("host").unwrap_or("none"), 64)
        );
        write_plain(w, 421, &msg, &[], false, head_only)?;
        return Ok(false);
    }
    match resolve(root, &head.target) {
        Ok(path) => match std::fs::File::open(&path).and_then(|f| Ok((f.metadata()?.len(), f))) {
            Ok((len, file)) => {
                let mut headers = security_headers();
                let ctype = content_type(&path);
                headers.push(("Content-Type", &ctype));
                write_head(w, 200, &headers, len, keep)?;
                if !head_only {
                    // Exactly the length announced, even if the file grows meanwhile.
                    let sent = io::copy(&mut file.take(len), w)?;
                    if sent < len {
                        return Ok(false); // it shrank: the connection cannot go on
                    }
                }
                Ok(keep)
            }
            Err(_) => write_plain(w, 404, "not found", &[], keep, head_only).map(|()| keep),
        },
        Err(Refusal::Forbidden) => {
            write_plain(w, 403, "forbidden", &[], keep, head_only).map(|()| keep)
        }
        Err(Refusal::NotFound) => {
            write_plain(w, 404, "not found", &[], keep, head_only).map(|()| keep)
        }
    }
}

/// Serves the requests of one connection until it closes, fails or times out.
fn serve_connection(stream: TcpStream, root: &Path, addr: SocketAddr, cfg: &ServeConfig) {
    let _ = stream.set_nodelay(true);
    if stream.set_write_timeout(Some(cfg.write_timeout)).is_err() {
        return;
    }
    let mut reader = BufReader::new(Deadline {
        stream: &stream,
        deadline: Instant::now() + cfg.head_timeout,
        got: 0,
    });
    let mut writer = BufWriter::new(&stream);
    for n in 1..=cfg.max_requests_per_connection {
        let pipelined = !reader.buffer().is_empty();
        reader.get_mut().deadline = Instant::now() + cfg.head_timeout;
        reader.get_mut().got = 0;
        let head = match read_head(&mut reader, &cfg.limits) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(Ok(refused)) => {
                let _ = write_plain(
                    &mut writer,
                    refused.status,
                    &refused.reason,
                    &[],
                    false,
                    false,
                );
                let _ = writer.flush();
                return;
            }
            Err(Err(e)) => {
                // A head that did not arrive in time gets 408 when it had begun; an idle
                // kept-alive connection is simply closed.
                let timed_out = matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                );
                if timed_out && (pipelined || reader.get_ref().got > 0) {
                    let _ =
                        write_plain(&mut writer, 408, "request head timeout", &[], false, false);
                    let _ = writer.flush();
                }
                return;
            }
        };
        let keep = head.keep_alive() && !head.has_body() && n < cfg.max_requests_per_connection;
        match respond(&mut writer, root, addr, &head, keep) {
            Ok(go_on) if go_on && writer.flush().is_ok() => {}
            _ => {
                let _ = writer.flush();
                return;
            }
        }
    }
}

impl StaticServer {
    /// Binds to `addr` (port 0 picks a free one) and serves `root` with the default
    /// [`ServeConfig`].
    pub fn bind(root: &Path, addr: SocketAddr) -> Result<Self> {
        Self::bind_with(root, addr, ServeConfig::default())
    }

    /// As [`StaticServer::bind`], with `config`.
    pub fn bind_with(root: &Path, addr: SocketAddr, config: ServeConfig) -> Result<Self> {
        let root = root.canonicalize().map_err(|e| Error::io(root, e))?;
        if !root.is_dir() {
            return Err(Error::invalid("serve root", "a directory", root.display()));
        }
        let listener = TcpListener::bind(addr).map_err(|e| Error::io(addr.to_string(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io(addr.to_string(), e))?;
        Ok(Self {
            listener,
            root,
            addr,
            config,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends: each connection on a thread of its own, at most
    /// `max_connections` at once.
    pub fn run(self) {
        let open = Arc::new(AtomicUsize::new(0));
        let root = Arc::new(self.root);
        for stream in self.listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if open.load(Ordering::Acquire) >= self.config.max_connections {
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = write_plain(
                    &mut stream,
                    503,
                    "too many connections: try again",
                    &[("Retry-After", "1")],
                    false,
                    false,
                );
                continue;
            }
            open.fetch_add(1, Ordering::AcqRel);
            let counter = Arc::clone(&open);
            let (root, cfg, addr) = (Arc::clone(&root), self.config, self.addr);
            let spawned = std::thread::Builder::new()
                .name("serve-connection".into())
                .spawn(move || {
                    serve_connection(stream, &root, addr, &cfg);
                    counter.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                open.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Serves on a background thread and returns at once (for tests).
    pub fn spawn(self) -> SocketAddr {
        let addr = self.addr;
        std::thread::spawn(move || self.run());
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_checked_on_loopback_only() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "127.0.0.1"] {
            assert!(host_allowed(lo, Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1:9999",
            "127.0.0.2:8080",
            "localhost.evil.example",
            "",
        ] {
            assert!(!host_allowed(lo, Some(bad)), "{bad}");
        }
        assert!(!host_allowed(lo, None));
        let v6: SocketAddr = "[::1]:81".parse().unwrap();
        assert!(host_allowed(v6, Some("[::1]:81")) && host_allowed(v6, Some("[::1]")));
        assert!(!host_allowed(v6, Some("[::2]:81")));
        let lan: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert!(host_allowed(lan, Some("my-laptop.local")));
    }
}
