//! What the server serves: which file a URL names (never one outside the root, never a
//! dotfile), its MIME type, and the headers every response carries.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// The Content-Security-Policy sent with every response (DESIGN.md §6).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
worker-src 'self'; media-src 'self' blob:; connect-src 'self'; img-src 'self' blob: data:; \
style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Headers sent with every response, including errors.
pub fn security_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Content-Security-Policy", CSP),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ]
}

/// MIME type by file extension; `.wasm` must be `application/wasm`.
pub fn content_type(path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => "application/wasm".into(),
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8".into(),
        Some("html") => "text/html; charset=utf-8".into(),
        Some("css") => "text/css; charset=utf-8".into(),
        Some("json") => "application/json".into(),
        Some("safetensors") => "application/octet-stream".into(),
        _ => mime_guess::from_path(path)
            .first_or_octet_stream()
            .essence_str()
            .to_string(),
    }
}

/// Why a request path was not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Outside the root or otherwise unsafe: 403.
    Forbidden,
    /// No such file: 404.
    NotFound,
}

/// Maps a request URL to a file below `root` (canonicalised), or says why not.
///
/// The path is percent-decoded once; a decoded path that still contains `%` followed by
/// hex digits is refused, so double-encoded `..` cannot slip through a second decoder.
pub fn resolve(root: &Path, url: &str) -> std::result::Result<PathBuf, Refusal> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| Refusal::Forbidden)?;
    if decoded.contains('\0') || decoded.contains('\\') || has_percent_escape(&decoded) {
        return Err(Refusal::Forbidden);
    }
    let mut rel = PathBuf::new();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            // Dotfiles and dot-folders (.git, .env, editor swap files) are never served: a
            // 404, as if absent, so the server does not confirm they exist.
            Component::Normal(c) if is_hidden(c) => return Err(Refusal::NotFound),
            Component::Normal(c) => rel.push(c),
            Component::CurDir => {}
            _ => return Err(Refusal::Forbidden),
        }
    }
    let mut full = root.join(&rel);
    if full.is_dir() {
        full.push("index.html");
    }
    let canon = full.canonicalize().map_err(|_| Refusal::NotFound)?;
    if !canon.starts_with(root) {
        return Err(Refusal::Forbidden);
    }
    // A symlink inside the root may lead to a dotfile inside it.
    let inside = canon.strip_prefix(root).unwrap_or(&canon);
    if inside.components().any(|c| is_hidden(c.as_os_str())) {
        return Err(Refusal::NotFound);
    }
    if !canon.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(canon)
}

/// A dotfile or dot-folder name (`.git`, `.env`).
fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}

fn has_percent_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("ainrec-serve-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("sub/a.wasm"), b"\0asm").unwrap();
        (dir.canonicalize().unwrap(), dir)
    }

    #[test]
    fn resolves_inside_and_refuses_traversal() {
        let (canon, _) = root();
        assert_eq!(resolve(&canon, "/").unwrap(), canon.join("index.html"));
        assert_eq!(
            resolve(&canon, "/sub/a.wasm?x=1").unwrap(),
            canon.join("sub/a.wasm")
        );
        for bad in [
            "/../etc/passwd",
            "/sub/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/%252e%252e/etc/passwd",
            "/..%5c..%5cetc",
            "/sub/%00",
        ] {
            assert_eq!(resolve(&canon, bad), Err(Refusal::Forbidden), "{bad}");
        }
        assert_eq!(resolve(&canon, "/missing.js"), Err(Refusal::NotFound));
    }

    /// Robustness II, case 9: the server served dotfiles (`.env`, `.git/config`).
    #[test]
    fn dotfiles_and_dot_folders_are_not_served() {
        let (canon, _) = root();
        std::fs::write(canon.join(".env"), "SECRET=1").unwrap();
        std::fs::create_dir_all(canon.join(".git")).unwrap();
        std::fs::write(canon.join(".git/config"), "[core]").unwrap();
        for hidden in [
            "/.env",
            "/.git/config",
            "/sub/../.env",
            "/%2eenv",
            "/./.env",
        ] {
            assert!(resolve(&canon, hidden).is_err(), "{hidden}");
        }
        assert_eq!(resolve(&canon, "/.env"), Err(Refusal::NotFound));
        #[cfg(unix)]
        {
            let link = canon.join("sub/visible.txt");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(canon.join(".env"), &link).unwrap();
            assert_eq!(resolve(&canon, "/sub/visible.txt"), Err(Refusal::NotFound));
        }
        assert!(resolve(&canon, "/sub/a.wasm").is_ok());
    }

    #[test]
    fn wasm_mime() {
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert!(content_type(Path::new("x.js")).starts_with("text/javascript"));
    }
}
