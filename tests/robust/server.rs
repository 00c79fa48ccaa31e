//! `ainrec serve` as an attacker on the same machine would try it: raw HTTP over TCP against
//! a server on 127.0.0.1 (never any other address). Path traversal in every spelling must not
//! reach a file outside the root; every response, errors included, carries the CSP of
//! DESIGN.md §6 (no `'unsafe-inline'`/`'unsafe-eval'`), `nosniff` and COOP/COEP; only GET and
//! HEAD are answered; and the CLI binds to loopback unless told otherwise.
#![cfg(feature = "native")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use ainrec::serve::{ServeConfig, StaticServer};

const SECRET: &str = "TOP-SECRET-MARKER-3f9a";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (the raw bytes) and reads the whole reply (the server closes after it).
fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

fn request(addr: SocketAddr, method: &str, target: &str) -> Reply {
    raw(
        addr,
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            .as_bytes(),
    )
}

/// A root `www/` with a page, a module and a wasm file, beside a secret outside it, plus a
/// symlink inside the root that points at the secret.
fn site() -> (tempfile::TempDir, SocketAddr) {
    site_with(ServeConfig::default())
}

fn site_with(config: ServeConfig) -> (tempfile::TempDir, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><p>page</p>").unwrap();
    std::fs::write(root.join("app.js"), "export const x = 1;").unwrap();
    std::fs::write(root.join("pkg/ainrec_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    // 16 MB: larger than the socket buffers, so a client that does not read blocks the writer.
    std::fs::write(root.join("big.bin"), vec![7u8; 16 << 20]).unwrap();
    let addr = StaticServer::bind_with(&root, "127.0.0.1:0".parse().unwrap(), config)
        .unwrap()
        .spawn();
    (dir, addr)
}

/// The security headers every response must carry.
fn assert_security_headers(r: &Reply, what: &str) {
    let csp = r
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self'",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "img-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.split(';').any(|d| d.trim() == directive),
            "{what}: CSP lacks {directive:?}: {csp}"
        );
    }
    // Token by token: 'wasm-unsafe-eval' is allowed, 'unsafe-eval' and 'unsafe-inline' never.
    for token in csp.split([';', ' ']).map(str::trim) {
        assert!(
            token != "'unsafe-inline'" && token != "'unsafe-eval'" && token != "*",
            "{what}: CSP allows {token}: {csp}"
        );
    }
    assert_eq!(
        r.header("X-Content-Type-Options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        r.header("Cross-Origin-Opener-Policy"),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(
        r.header("Cross-Origin-Embedder-Policy"),
        Some("require-corp"),
        "{what}"
    );
}

#[test]
fn traversal_in_every_spelling_never_leaves_the_root() {
    let (_dir, addr) = site();
    for target in [
        "/../secret.txt",
        "/pkg/../../secret.txt",
        "/./../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/.%2e/secret.txt",
        "/pkg/%2e%2e/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "/%252e%252e%252fsecret.txt",
        "/%25252e%25252e/secret.txt",
        "/..%5csecret.txt",
        "/..%5c..%5csecret.txt",
        "/..\\secret.txt",
        "/pkg\\..\\..\\secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%00/../secret.txt",
        "/index.html%00.js",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        "/link.txt",
        "http://127.0.0.1/../secret.txt",
        "../secret.txt",
    ] {
        let r = request(addr, "GET", target);
        assert!(
            matches!(r.status, 403 | 404),
            "{target}: status {}",
            r.status
        );
        let body = String::from_utf8_lossy(&r.body);
        assert!(!body.contains(SECRET), "{target} leaked the secret");
        assert!(!body.contains("root:"), "{target} leaked /etc/passwd");
        assert_security_headers(&r, target);
    }
    // Plain `..` and its encodings are refused outright (403), not merely not found.
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
    ] {
        assert_eq!(request(addr, "GET", target).status, 403, "{target}");
    }
    // A request line that is not HTTP at all: 400, with the same headers as every answer.
    let garbage = raw(addr, b"GARBAGE\r\n\r\n");
    assert_eq!(garbage.status, 400);
    assert_security_headers(&garbage, "400");
    // The same names inside the root are served: the refusals above are not blanket.
    let ok = request(addr, "GET", "/pkg/%2e/ainrec_bg.wasm");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, b"\0asm\x01\0\0\0");
}

#[test]
fn every_response_carries_the_csp_nosniff_and_isolation_headers() {
    let (_dir, addr) = site();
    let page = request(addr, "GET", "/");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("page"));
    assert!(page
        .header("Content-Type")
        .unwrap()
        .starts_with("text/html"));
    assert_security_headers(&page, "/");
    let module = request(addr, "GET", "/app.js?v=3");
    assert_eq!(module.status, 200);
    assert!(module
        .header("Content-Type")
        .unwrap()
        .starts_with("text/javascript"));
    assert_security_headers(&module, "/app.js");
    let wasm = request(addr, "GET", "/pkg/ainrec_bg.wasm");
    assert_eq!(wasm.header("Content-Type"), Some("application/wasm"));
    assert_security_headers(&wasm, "wasm");
    let missing = request(addr, "GET", "/nope.js");
    assert_eq!(missing.status, 404);
    assert_security_headers(&missing, "404");
    let forbidden = request(addr, "GET", "/../x");
    assert_eq!(forbidden.status, 403);
    assert_security_headers(&forbidden, "403");
    let refused = request(addr, "POST", "/");
    assert_eq!(refused.status, 405);
    assert_security_headers(&refused, "405");
}

#[test]
fn only_get_and_head_are_answered() {
    let (dir, addr) = site();
    for method in [
        "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ] {
        let r = raw(
            addr,
            format!(
                "{method} /upload.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
                 Content-Length: 5\r\n\r\nhello"
            )
            .as_bytes(),
        );
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD"), "{method}");
        assert!(
            !dir.path().join("www/upload.txt").exists(),
            "{method} wrote"
        );
    }
    let head = request(addr, "HEAD", "/index.html");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD sends no body");
    assert_security_headers(&head, "HEAD");
}

/// `ainrec serve` without `--bind` listens on 127.0.0.1 only (checked from what it prints and
/// by connecting).
#[test]
fn the_cli_binds_to_loopback_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>x</p>").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["serve", "--port", "0"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let host_port = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let addr: SocketAddr = host_port.parse().unwrap();
    let page = request(addr, "GET", "/");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(addr.ip().is_loopback(), "default bind {addr}");
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_eq!(page.status, 200);
    assert_security_headers(&page, "CLI");
    // The help says the same.
    let help = Command::new(env!("CARGO_BIN_EXE_ainrec"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1]"));
}

/// A GET answered within a second (the client gives up after one: a server that is locked up
/// fails here rather than hanging the test).
fn answered_within_a_second(addr: SocketAddr, what: &str) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(b"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head)
        .unwrap_or_else(|e| panic!("{what}: no answer within 1 s ({e})"));
    assert_eq!(&head, b"HTTP/1.1 200", "{what}");
}

/// Robustness II, case 3: four (here six) clients that request a large file and never read
/// locked up the server for as long as they stayed open; so did four that pipeline 3,000 GETs.
#[test]
fn slow_readers_and_pipelined_floods_leave_the_server_answering() {
    let (_dir, addr) = site();
    let mut idle = Vec::new();
    for _ in 0..6 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        idle.push(s);
    }
    let flood: Vec<u8> = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(3000);
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        // The server stops reading once its writes block: what is not taken is dropped here.
        let _ = s.write_all(&flood);
        idle.push(s);
    }
    answered_within_a_second(addr, "with 6 slow readers and 4 pipelined floods open");
    drop(idle);
}

/// Case 3: a 300 MB header line grew the server by 307 MB; now a head is bounded (431 for the
/// header fields, 414 for the request line) and nothing beyond the bound is read.
#[test]
fn oversized_heads_are_refused_by_status_and_the_server_goes_on() {
    let (_dir, addr) = site();
    let mut big = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    big.extend(vec![b'a'; 4 << 20]);
    big.extend_from_slice(b"\r\n\r\n");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server answers and closes after the bound: the rest of the write may fail.
    let _ = s.write_all(&big);
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    assert!(
        reply.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&reply[..reply.len().min(80)])
    );
    let long = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "a".repeat(100_000)
    );
    let r = raw(addr, long.as_bytes());
    assert_eq!(r.status, 414);
    assert_security_headers(&r, "414");
    answered_within_a_second(addr, "after the oversized heads");
}

/// Case 9: the server ignored the Host header (a page elsewhere could reach it through DNS
/// rebinding). Bound to loopback it answers only for its address or localhost.
#[test]
fn a_foreign_host_is_refused() {
    let (_dir, addr) = site();
    let ask = |host: &str| {
        raw(
            addr,
            format!("GET / HTTP/1.1\r\n{host}Connection: close\r\n\r\n").as_bytes(),
        )
    };
    for bad in ["Host: evil.example\r\n", "Host: 127.0.0.1:1\r\n", ""] {
        let r = ask(bad);
        assert_eq!(r.status, 421, "{bad:?}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("page"),
            "{bad:?}"
        );
        assert_security_headers(&r, "421");
    }
    for good in [
        format!("Host: 127.0.0.1:{}\r\n", addr.port()),
        format!("Host: localhost:{}\r\n", addr.port()),
    ] {
        assert_eq!(ask(&good).status, 200, "{good:?}");
    }
}

/// Slowloris: a head that trickles in is cut off at the head deadline with 408; two requests
/// on one kept-alive connection are both answered; one connection over the limit gets 503.
#[test]
fn heads_have_a_deadline_connections_are_kept_alive_and_bounded() {
    let config = ServeConfig {
        head_timeout: Duration::from_secs(1),
        max_connections: 3,
        ..ServeConfig::default()
    };
    let (_dir, addr) = site_with(config);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    let mut reply = Vec::new();
    // Bytes keep coming, but too slowly: the deadline is for the whole head.
    for _ in 0..30 {
        if slow.write_all(b"a").is_err() {
            break;
        }
        let mut b = [0u8; 64];
        slow.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if let Ok(n) = slow.read(&mut b) {
            reply.extend_from_slice(&b[..n]);
            break;
        }
    }
    assert!(
        reply.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );

    let mut keep = TcpStream::connect(addr).unwrap();
    keep.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(keep.try_clone().unwrap());
    for round in 0..2 {
        keep.write_all(b"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "round {round}: {status}"
        );
        let mut len = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, b"export const x = 1;");
    }
    // `keep` is one of 3; two more fill the server, the next is turned away.
    let _a = TcpStream::connect(addr).unwrap();
    let _b = TcpStream::connect(addr).unwrap();
    let mut over = TcpStream::connect(addr).unwrap();
    over.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reply = Vec::new();
    let _ = over.read_to_end(&mut reply);
    assert!(
        reply.starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
}
