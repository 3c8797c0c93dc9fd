//! Just enough HTTP/1.1 for the AdminServer and /metrics: one GET (or HEAD/POST without a body
//! we read) per connection, answered with `Connection: close`. Request heads are bounded in size
//! and time, so a slow or hostile client costs one task and a few KiB.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The largest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    pub query: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: String,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: Option<&'static str>, body: impl Into<String>) -> Self {
        HttpResponse { status, content_type, body: body.into() }
    }
}

pub type Handler =
    Arc<dyn Fn(HttpRequest) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> + Send + Sync>;

/// Accepts connections until the listener fails; each is served on its own task.
pub async fn serve(listener: TcpListener, handler: Handler, idle_timeout: Duration) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let handler = handler.clone();
                tokio::spawn(async move {
                    if let Err(error) = serve_one(stream, remote, handler, idle_timeout).await {
                        tracing::debug!("http connection from {} ended: {}", remote, error);
                    }
                });
            }
            Err(error) => {
                tracing::warn!("http accept failed: {}", error);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_one(
    mut stream: TcpStream,
    _remote: SocketAddr,
    handler: Handler,
    idle_timeout: Duration,
) -> std::io::Result<()> {
    let head = match tokio::time::timeout(idle_timeout, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let response = match parse_head(&head) {
        Some(request) if request.method == "TRACE" => HttpResponse::new(405, None, ""),
        Some(request) => {
            let head_only = request.method == "HEAD";
            let mut response = handler(request).await;
            if head_only {
                response.body.clear();
            }
            response
        }
        None => HttpResponse::new(400, None, ""),
    };
    stream.write_all(&render(&response)).await?;
    stream.shutdown().await
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(head);
        }
        head.extend_from_slice(&chunk[..read]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request head too large"));
        }
    }
}

fn parse_head(head: &[u8]) -> Option<HttpRequest> {
    let text = std::str::from_utf8(head).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_ascii_uppercase();
    let target = parts.next()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Some(HttpRequest { method, path: percent_decode(path), query })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn render(response: &HttpResponse) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {} {}\r\nConnection: close\r\n", response.status, reason(response.status));
    if let Some(content_type) = response.content_type {
        out.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nServer: ferrokeeper\r\n\r\n", response.body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(response.body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse() {
        let request =
            parse_head(b"GET /commands/set_trace_mask?traceMask=42&x=a%20b HTTP/1.1\r\nHost: h\r\n\r\n")
                .expect("parses");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/commands/set_trace_mask");
        assert_eq!(request.query, vec![("traceMask".into(), "42".into()), ("x".into(), "a b".into())]);
        assert!(parse_head(b"\r\n\r\n").is_none());
    }

    #[test]
    fn percent_decoding_tolerates_truncation() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }
}
