//! HTTP/1.1 over a plain TCP stream: one request per connection (`Connection: close`).
//! Enough for a sample client on a local gateway; it speaks `http://` only.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub type Error = Box<dyn std::error::Error>;

/// An `http://host:port/path?query` URL, split.
pub struct Url {
    pub host: String,
    pub port: u16,
    pub target: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, Error> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("only http:// URLs are supported: {url}"))?;
        let (authority, target) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse()?),
            _ => (authority, 80),
        };
        Ok(Url {
            host: host.to_string(),
            port,
            target: target.to_string(),
        })
    }

    pub fn connect(&self) -> io::Result<TcpStream> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let stream = TcpStream::connect((host, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(stream)
    }

    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<serde_json::Value, Error> {
        if self.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        Ok(serde_json::from_slice(&self.body)?)
    }
}

/// The status line and headers, up to the blank line.
pub fn read_head(reader: &mut impl BufRead) -> Result<(u16, Vec<(String, String)>), Error> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| format!("not an HTTP status line: {line:?}"))?
        .parse()?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err("the connection closed inside the headers".into());
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Ok((status, headers));
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
        if size == 0 {
            return Ok(body); // trailers, if any, are left unread: the connection closes
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?; // the CRLF after the chunk
    }
}

/// One request; `headers` are sent as given, after Host and Connection.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Result<Response, Error> {
    let url = Url::parse(url)?;
    let mut stream = url.connect()?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        url.target,
        url.authority()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(body) = body {
        stream.write_all(body)?;
    }
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let chunked = matches!(
        response.header("transfer-encoding"),
        Some(v) if v.eq_ignore_ascii_case("chunked")
    );
    if chunked {
        response.body = read_chunked(&mut reader)?;
    } else if let Some(length) = response.header("content-length") {
        let mut body = vec![0; length.parse()?];
        reader.read_exact(&mut body)?;
        response.body = body;
    } else {
        reader.read_to_end(&mut response.body)?;
    }
    Ok(response)
}
