//! The Wildside sample client: log in, ask for a walk with an idempotency key (and retry
//! it), follow it over /ws to its final status, then page through two listings by their
//! links alone. Prints one JSON object per line. Settings come from the environment.

mod http;
mod pages;
mod session;
mod ws;

use http::{Error, Response};
use serde_json::{json, Value};
use session::{expect, Session};
use std::time::{Duration, Instant};

const FINAL: [&str; 3] = ["succeeded", "failed", "cancelled"];
const ATTEMPTS: u32 = 5;

/// One line of output: `{"event": <event>, ...fields}`.
pub fn emit(event: &str, fields: Value) {
    let mut line = json!({ "event": event });
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    println!("{line}");
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// A random (version 4) UUID for the `Idempotency-Key`.
fn uuid4() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// POST /api/v1/routes with the key; a lost connection, 429 or 503 is retried with the
/// same key, so the walk is asked for once however often the request is sent.
fn submit_route(session: &Session, body: &Value, key: &str) -> Result<Response, Error> {
    let url = format!("{}/api/v1/routes", session.base);
    let mut attempt = 1;
    loop {
        let wait = match session.call(
            "POST",
            &url,
            Some(body),
            &[("Idempotency-Key", key.to_string())],
        ) {
            Ok(response) if response.status == 202 => return Ok(response),
            Ok(response) if attempt < ATTEMPTS && [429, 503].contains(&response.status) => response
                .header("retry-after")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1u64)
                .min(10),
            Ok(response) => return expect(response, &[202]),
            Err(error) if attempt >= ATTEMPTS => return Err(error),
            Err(_) => 1,
        };
        std::thread::sleep(Duration::from_secs(wait));
        attempt += 1;
    }
}

/// The request's statuses over /ws until a final one (subscribe, then wait).
fn wait_final(session: &Session, request_id: &str, timeout: Duration) -> Result<String, Error> {
    let deadline = Instant::now() + timeout;
    let mut socket = ws::Socket::connect(session, timeout)?;
    emit("socket", json!({"subprotocol": socket.protocol}));
    socket.send_text(&json!({"type": "subscribe", "request_id": request_id}).to_string())?;
    while Instant::now() < deadline {
        let frame: Value = serde_json::from_str(&socket.recv_text()?)?;
        match frame["type"].as_str().unwrap_or_default() {
            "subscribed" => emit("subscribed", json!({"request_id": frame["request_id"]})),
            "error" => return Err(format!("socket error frame: {frame}").into()),
            "route_generation_status" if frame["request_id"] == request_id => {
                let status = frame["status"].as_str().unwrap_or_default().to_string();
                let progress = &frame["progress"];
                emit(
                    "status",
                    json!({"request_id": request_id, "status": status, "progress": progress}),
                );
                if FINAL.contains(&status.as_str()) {
                    socket.close();
                    return Ok(status);
                }
            }
            _ => {}
        }
    }
    Err(format!("no final status for {request_id} within {timeout:?}").into())
}

fn run() -> Result<(), Error> {
    let base = setting("WILDSIDE_BASE_URL", "http://127.0.0.1:8080")
        .trim_end_matches('/')
        .to_string();
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let origin_default = match base[authority_end..].find('/') {
        Some(i) => base[..authority_end + i].to_string(),
        None => base.clone(),
    };
    let origin = setting("WILDSIDE_ORIGIN", &origin_default);
    let page_size: u32 = setting("WILDSIDE_PAGE_SIZE", "2").parse()?;
    let timeout = Duration::from_secs(setting("WILDSIDE_TIMEOUT_SECONDS", "60").parse()?);
    let walk = json!({
        "start": {"lat": 60.16952, "lng": 24.95224}, // Senate Square, Helsinki
        "duration_minutes": 30,
        "preferences": ["history", "architecture"],
    });

    let mut user = Session::new(&base, &origin);
    let profile = user.login(
        &setting("WILDSIDE_USER", "demo"),
        &setting("WILDSIDE_PASSWORD", "wildside-demo"),
    )?;
    emit(
        "login",
        json!({"username": profile["username"], "role": profile["role"]}),
    );

    let key = uuid4()?;
    let first = submit_route(&user, &walk, &key)?;
    let request_id = first.json()?["request_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let location = first.header("location").unwrap_or_default().to_string();
    emit(
        "submitted",
        json!({"request_id": request_id, "idempotency_key": key, "location": location}),
    );
    let again = submit_route(&user, &walk, &key)?;
    let again_id = again.json()?["request_id"].clone();
    emit(
        "retried",
        json!({"request_id": again_id, "idempotency_key": key,
               "replayed": again.header("idempotent-replayed") == Some("true"),
               "same_request": again_id == request_id.as_str()}),
    );

    let status = wait_final(&user, &request_id, timeout)?;
    emit("final", json!({"request_id": request_id, "status": status}));
    if status == "succeeded" {
        let state = expect(user.call("GET", &location, None, &[])?, &[200])?.json()?;
        let route = &state["route"];
        let stops: Vec<Value> = route["points"]
            .as_array()
            .map(|points| points.iter().map(|p| p["name"].clone()).collect())
            .unwrap_or_default();
        emit(
            "route",
            json!({"stops": stops, "attribution": route["attribution"]}),
        );
    }

    pages::walk(
        &user,
        "routes",
        &format!("{base}/api/v1/routes?limit={page_size}"),
        "request_id",
    )?;

    let mut admin = Session::new(&base, &origin);
    let profile = admin.login(
        &setting("WILDSIDE_ADMIN_USER", "admin"),
        &setting("WILDSIDE_ADMIN_PASSWORD", "wildside-admin"),
    )?;
    emit(
        "login",
        json!({"username": profile["username"], "role": profile["role"]}),
    );
    pages::walk(
        &admin,
        "users",
        &format!("{base}/api/v1/users?limit={page_size}"),
        "id",
    )?;
    emit("done", json!({}));
    Ok(())
}

fn main() {
    if let Err(error) = run() {
        eprintln!(
            "{}",
            json!({"event": "error", "message": error.to_string()})
        );
        std::process::exit(1);
    }
}
