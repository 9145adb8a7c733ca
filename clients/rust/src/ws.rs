//! A WebSocket client (RFC 6455) over a TCP stream. The handshake carries the session
//! cookie and an allowed `Origin` (a cookie-authenticated handshake from another origin is
//! refused: docs/websocket.md); client frames are masked, as the protocol requires.

use crate::http::{read_head, Error, Url};
use crate::session::Session;
use sha1::{Digest, Sha1};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

pub struct Socket {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The subprotocol the server selected (`wildside.v1`).
    pub protocol: String,
}

impl Socket {
    pub fn connect(session: &Session, timeout: Duration) -> Result<Socket, Error> {
        let url = Url::parse(&format!("{}/ws", session.base))?;
        let stream = url.connect()?;
        stream.set_read_timeout(Some(timeout))?;
        let mut nonce = [0u8; 16];
        getrandom::getrandom(&mut nonce)?;
        let key = base64::encode(nonce);
        let head = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: wildside.v1\r\nOrigin: {}\r\nCookie: session={}\r\n\r\n",
            url.target,
            url.authority(),
            session.origin,
            session.token
        );
        let mut writer = stream.try_clone()?;
        writer.write_all(head.as_bytes())?;
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader)?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        if status != 101 {
            return Err(format!("the /ws handshake was refused: HTTP {status}").into());
        }
        let expected = base64::encode(Sha1::digest(format!("{key}{ACCEPT_GUID}").as_bytes()));
        if header("sec-websocket-accept") != expected {
            return Err("the /ws handshake answered a wrong Sec-WebSocket-Accept".into());
        }
        Ok(Socket {
            reader,
            writer,
            protocol: header("sec-websocket-protocol"),
        })
    }

    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(0x1, text.as_bytes())
    }

    fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        let mut frame = vec![0x80 | opcode];
        let length = payload.len();
        if length < 126 {
            frame.push(0x80 | length as u8);
        } else if length <= 0xffff {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(length as u16).to_be_bytes());
        } else {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(length as u64).to_be_bytes());
        }
        let mut mask = [0u8; 4];
        getrandom::getrandom(&mut mask)?;
        frame.extend_from_slice(&mask);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, byte)| byte ^ mask[i % 4]),
        );
        self.writer.write_all(&frame)?;
        Ok(())
    }

    /// The next text message; answers pings on the way; an error when the server closes.
    pub fn recv_text(&mut self) -> Result<String, Error> {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head)?;
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            let length = match head[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.reader.read_exact(&mut b)?;
                    u16::from_be_bytes(b) as usize
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.reader.read_exact(&mut b)?;
                    u64::from_be_bytes(b) as usize
                }
                n => n as usize,
            };
            let mut mask = [0u8; 4];
            if head[1] & 0x80 != 0 {
                self.reader.read_exact(&mut mask)?;
            }
            let mut payload = vec![0u8; length];
            self.reader.read_exact(&mut payload)?;
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, byte)| *byte ^= mask[i % 4]);
            match opcode {
                0x9 => self.send(0xA, &payload)?,
                0xA => {}
                0x8 => {
                    let code = payload
                        .get(..2)
                        .map_or(1005, |b| u16::from_be_bytes([b[0], b[1]]));
                    return Err(format!("the server closed the socket ({code})").into());
                }
                0x0 | 0x1 => {
                    message.extend_from_slice(&payload);
                    if fin {
                        return Ok(String::from_utf8(message)?);
                    }
                }
                other => return Err(format!("unexpected WebSocket opcode {other}").into()),
            }
        }
    }

    /// A normal closure (1000); the answer is not awaited.
    pub fn close(mut self) {
        let _ = self.send(0x8, &1000u16.to_be_bytes());
    }
}
