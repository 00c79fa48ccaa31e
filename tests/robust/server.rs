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

use ainrec::serve::StaticServer;

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
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("index.html"), "<!doctype html><p>page</p>").unwrap();
    std::fs::write(root.join("app.js"), "export const x = 1;").unwrap();
    std::fs::write(root.join("pkg/ainrec_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.txt")).unwrap();
    let addr = StaticServer::bind(&root, "127.0.0.1:0".parse().unwrap())
        .unwrap()
        .spawn(2);
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
    // A request line that is not HTTP at all is answered by tiny_http itself: 400 with an
    // empty body (so nothing a CSP would have to govern).
    let garbage = raw(addr, b"GARBAGE\r\n\r\n");
    assert_eq!(garbage.status, 400);
    assert!(garbage.body.is_empty());
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
