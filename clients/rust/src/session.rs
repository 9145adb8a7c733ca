//! The gateway with a session cookie, as a browser would hold it.

use crate::http::{self, Error, Response};
use serde_json::{json, Value};

pub struct Session {
    pub base: String,
    pub origin: String,
    /// The `session` cookie's value; empty until login.
    pub token: String,
}

/// The response, or an error naming its status and body when the status is not `wanted`.
pub fn expect(response: Response, wanted: &[u16]) -> Result<Response, Error> {
    if wanted.contains(&response.status) {
        return Ok(response);
    }
    let body = String::from_utf8_lossy(&response.body).into_owned();
    Err(format!("HTTP {}: {body}", response.status).into())
}

impl Session {
    pub fn new(base: &str, origin: &str) -> Session {
        Session {
            base: base.to_string(),
            origin: origin.to_string(),
            token: String::new(),
        }
    }

    /// One request. Every unsafe request a cookie authenticates needs an allowed `Origin`
    /// (the CSRF rule of docs/security.md); the client sends it on every request.
    pub fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
        extra: &[(&str, String)],
    ) -> Result<Response, Error> {
        let mut headers = vec![("Accept", "application/json".to_string())];
        headers.push(("Origin", self.origin.clone()));
        if !self.token.is_empty() {
            headers.push(("Cookie", format!("session={}", self.token)));
        }
        let encoded = body.map(|b| b.to_string().into_bytes());
        if encoded.is_some() {
            headers.push(("Content-Type", "application/json".to_string()));
        }
        headers.extend(extra.iter().cloned());
        http::request(method, url, &headers, encoded.as_deref())
    }

    /// POST /api/v1/login; keeps the `session` cookie for the calls that follow.
    pub fn login(&mut self, username: &str, password: &str) -> Result<Value, Error> {
        let url = format!("{}/api/v1/login", self.base);
        let body = json!({"username": username, "password": password});
        let response = expect(self.call("POST", &url, Some(&body), &[])?, &[200])?;
        let cookie = response
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, value)| value.split(';').next())
            .find_map(|pair| pair.trim().strip_prefix("session="))
            .ok_or("login answered 200 without a session cookie")?;
        self.token = cookie.to_string();
        response.json()
    }
}
