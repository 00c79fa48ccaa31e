//! The part of HTTP/1.1 (RFC 9112) a static file server needs: reading a request's head —
//! request line and header fields — with every length bounded, and writing a response head.
//!
//! Pure over `BufRead`/`Write`, so the tests and the fuzz target drive it without sockets.
//! Bounds: a request line over [`Limits::request_line`] bytes is refused with 414, header
//! fields over [`Limits::header_bytes`] in all or more than [`Limits::header_count`] with
//! 431; a malformed head with 400, an HTTP version other than 1.0/1.1 with 505. Nothing is
//! buffered beyond the bound, so a 300 MB header line costs at most the bound in memory.

use std::io::{self, BufRead, Write};

/// Length bounds of a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the request line (method, target, version), line end included.
    pub request_line: usize,
    /// Bytes of all header lines together.
    pub header_bytes: usize,
    /// Number of header fields.
    pub header_count: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Chromium sends ~600-byte heads; its own URL limit is 2 MB, but this server's
        // targets are file paths.
        Limits {
            request_line: 8 * 1024,
            header_bytes: 16 * 1024,
            header_count: 100,
        }
    }
}

/// Why a head was refused: the status to answer with, and a reason for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// 400, 408, 414, 431 or 505.
    pub status: u16,
    /// One line for the response body.
    pub reason: String,
}

fn refused(status: u16, reason: impl Into<String>) -> Refused {
    Refused {
        status,
        reason: reason.into(),
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The method, as sent (methods are case-sensitive).
    pub method: String,
    /// The request target (origin form `/path?query`, or absolute form).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Header fields in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection may serve another request after this one: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let tokens = |want: &str| {
            self.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(want))
        };
        if self.minor == 0 {
            tokens("keep-alive")
        } else {
            !tokens("close")
        }
    }

    /// Whether a body follows the head (`Content-Length` other than 0, or any
    /// `Transfer-Encoding`). This server reads no bodies, so such a connection is closed
    /// after the response rather than guessed at.
    pub fn has_body(&self) -> bool {
        self.header("transfer-encoding").is_some()
            || self
                .header("content-length")
                .is_some_and(|v| v.trim() != "0")
    }
}

/// Reads one line of at most `max` bytes into `buf` (line end removed). `Ok(None)`: the
/// stream ended before any byte; `Err(Ok(()))`: the line is longer than `max`.
fn read_line(
    r: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> io::Result<Result<Option<()>, ()>> {
    buf.clear();
    let n = io::Read::take(&mut *r, max as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Ok(None));
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > max {
            return Ok(Err(()));
        }
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the request head ended mid-line",
        ));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Ok(Some(())))
}

/// RFC 9110 `tchar`: the characters of a method or a field name.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// Reads a request head. `Ok(None)`: the client closed (or sent only blank lines) before a
/// request began — the normal end of a kept-alive connection. `Err(Ok(refused))`: answer
/// with that status and close. `Err(Err(io))`: the connection failed (a timeout included);
/// answer nothing more.
pub fn read_head(
    r: &mut impl BufRead,
    limits: &Limits,
) -> Result<Option<Head>, Result<Refused, io::Error>> {
    let mut line = Vec::new();
    // RFC 9112 §2.2: ignore at least one empty line before the request line.
    let mut blank = 0;
    loop {
        match read_line(r, limits.request_line, &mut line).map_err(Err)? {
            Ok(None) => return Ok(None),
            Err(()) => {
                return Err(Ok(refused(
                    414,
                    format!("request line longer than {} bytes", limits.request_line),
                )))
            }
            Ok(Some(())) if line.is_empty() && blank < 4 => blank += 1,
            Ok(Some(())) => break,
        }
    }
    let text = std::str::from_utf8(&line)
        .map_err(|_| Ok(refused(400, "the request line is not UTF-8")))?;
    let mut parts = text.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Ok(refused(
            400,
            "the request line is not `METHOD target HTTP/1.1`",
        )));
    };
    if !is_token(method.as_bytes()) || target.is_empty() {
        return Err(Ok(refused(400, "malformed method or target")));
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return Err(Ok(refused(
                505,
                format!("{} is not HTTP/1.0 or 1.1", truncate(v, 16)),
            )))
        }
        _ => return Err(Ok(refused(400, "the request line has no HTTP version"))),
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    let mut used = 0usize;
    loop {
        let left = limits.header_bytes.saturating_sub(used);
        match read_line(r, left, &mut line).map_err(Err)? {
            Ok(None) => {
                return Err(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the request head ended before its blank line",
                )))
            }
            Err(()) => {
                return Err(Ok(refused(
                    431,
                    format!("header fields longer than {} bytes", limits.header_bytes),
                )))
            }
            Ok(Some(())) => {}
        }
        used += line.len() + 2;
        if line.is_empty() {
            break;
        }
        if headers.len() == limits.header_count {
            return Err(Ok(refused(
                431,
                format!("more than {} header fields", limits.header_count),
            )));
        }
        // Obsolete line folding (a line starting with white space) is refused (RFC 9112 §5.2).
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(Ok(refused(400, "folded header line")));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| Ok(refused(400, "a header field is not UTF-8")))?;
        let Some((name, value)) = text.split_once(':') else {
            return Err(Ok(refused(400, "a header line without a colon")));
        };
        if !is_token(name.as_bytes()) {
            return Err(Ok(refused(400, "malformed header name")));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Some(Head {
        method,
        target,
        minor,
        headers,
    }))
}

/// At most `max` characters of `s`, with "…" when cut (for messages that echo input).
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The reason phrase of the statuses this server sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        414 => "URI Too Long",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// Writes a response head: status line, `headers`, `Content-Length` and `Connection`.
pub fn write_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, &str)],
    content_length: u64,
    keep_alive: bool,
) -> io::Result<()> {
    write!(w, "HTTP/1.1 {status} {}\r\n", reason_phrase(status))?;
    for (k, v) in headers {
        write!(w, "{k}: {v}\r\n")?;
    }
    write!(
        w,
        "Content-Length: {content_length}\r\nConnection: {}\r\n\r\n",
        if keep_alive { "keep-alive" } else { "close" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<Option<Head>, Result<Refused, io::Error>> {
        read_head(&mut io::Cursor::new(raw), &Limits::default())
    }

    fn status(raw: &[u8]) -> u16 {
        match parse(raw) {
            Err(Ok(r)) => r.status,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn a_browser_head_parses_and_keeps_alive() {
        let h =
            parse(b"\r\nGET /app.js?v=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept:  */* \r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/app.js?v=1");
        assert_eq!(h.minor, 1);
        assert_eq!(h.header("host"), Some("127.0.0.1:8080"));
        assert_eq!(h.header("ACCEPT"), Some("*/*"));
        assert!(h.keep_alive() && !h.has_body());
        let h = parse(b"GET / HTTP/1.1\nConnection: Keep-Alive, close\n\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive(), "LF-only lines and a close token");
        let h = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive(), "HTTP/1.0 closes by default");
        let h = parse(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .unwrap()
            .unwrap();
        assert!(h.has_body());
        assert!(parse(b"").unwrap().is_none(), "a closed idle connection");
    }

    #[test]
    fn every_bound_and_malformation_has_its_status() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
        assert_eq!(status(long_target.as_bytes()), 414);
        let long_header = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "b".repeat(20_000));
        assert_eq!(status(long_header.as_bytes()), 431);
        let many: String = (0..101).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert_eq!(
            status(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            431
        );
        assert_eq!(status(b"GARBAGE\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status(b"GET / FTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"G(T / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET  / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nBad Name: 1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /\xff HTTP/1.1\r\n\r\n"), 400);
        // A head cut short is a failed connection, not a request.
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost: x"), Err(Err(_))));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\n"), Err(Err(_))));
        // The bound holds however long the line: only bound + 1 bytes are read.
        let huge = vec![b'x'; 1 << 20];
        let mut cur = io::Cursor::new(&huge[..]);
        assert!(matches!(
            read_head(&mut cur, &Limits::default()),
            Err(Ok(_))
        ));
        assert!(cur.position() <= 8 * 1024 + 1);
    }

    #[test]
    fn truncate_and_heads() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ab", 3), "ab");
        let mut out = Vec::new();
        write_head(&mut out, 404, &[("X-A", "1")], 10, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        );
    }
}
