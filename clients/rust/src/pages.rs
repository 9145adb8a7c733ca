//! A listing walked by its links alone: `links.next` to the end, then `links.prev` back to
//! the start. The client never builds a page URL; cursors are opaque (docs/pagination.md).

use crate::emit;
use crate::http::Error;
use crate::session::{expect, Session};
use serde_json::{json, Value};

fn fetch_page(session: &Session, url: &str) -> Result<Value, Error> {
    expect(session.call("GET", url, None, &[])?, &[200])?.json()
}

fn ids_of(page: &Value, id_field: &str) -> Vec<String> {
    let items = page["data"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|item| item[id_field].as_str().unwrap_or_default().to_string())
        .collect()
}

fn link(page: &Value, name: &str) -> Option<String> {
    page["links"][name].as_str().map(str::to_string)
}

fn emit_page(listing: &str, direction: &str, number: u32, page: &Value, ids: &[String]) {
    let fields = json!({
        "listing": listing, "direction": direction, "number": number,
        "url": page["links"]["self"], "ids": ids,
    });
    emit("page", fields);
}

pub fn walk(session: &Session, listing: &str, first: &str, id_field: &str) -> Result<(), Error> {
    let (mut forward, mut back) = (Vec::new(), Vec::new());
    let (mut pages_forward, mut pages_back) = (0, 0);
    let mut page = fetch_page(session, first)?;
    loop {
        let ids = ids_of(&page, id_field);
        pages_forward += 1;
        forward.extend(ids.iter().cloned());
        emit_page(listing, "next", pages_forward, &page, &ids);
        match link(&page, "next") {
            Some(next) => page = fetch_page(session, &next)?,
            None => break,
        }
    }
    while let Some(prev) = link(&page, "prev") {
        page = fetch_page(session, &prev)?;
        let ids = ids_of(&page, id_field);
        pages_back += 1;
        back.splice(0..0, ids.iter().cloned());
        emit_page(listing, "prev", pages_back, &page, &ids);
    }
    emit(
        "listing",
        json!({"listing": listing, "pages_forward": pages_forward, "pages_back": pages_back,
               "ids": forward, "ids_back": back}),
    );
    Ok(())
}
