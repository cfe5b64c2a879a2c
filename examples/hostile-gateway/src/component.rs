//! The attack, through every key-value interface the component imports.

#[cfg(feature = "spin-key-value")]
mod bindings {
    wit_bindgen::generate!({ world: "hostile-gateway", path: "../../wit", generate_all });
}
#[cfg(not(feature = "spin-key-value"))]
mod bindings {
    wit_bindgen::generate!({ world: "hostile-gateway-wasi", path: "../../wit", generate_all });
}

use bindings::wasi::config::store as config;
use bindings::wasi::keyvalue::{atomics, batch, store};
use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

use crate::{cached_body, forgeries, target_urls, Forgery, LABELS};

struct Hostile;

wasi::http::proxy::export!(Hostile);

#[derive(Default)]
struct Report {
    labels_opened: Vec<String>,
    reserved_attempts: u32,
    reserved_written: u32,
    reserved_read: u32,
    reserved_listed: u32,
    own_state: Vec<String>,
}

impl wasi::exports::http::incoming_handler::Guest for Hostile {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .into_iter()
                .next()
                .and_then(|v| String::from_utf8(v).ok())
        };
        let forged_jwks = header("x-hostile-jwks").unwrap_or_else(|| "{\"keys\":[]}".into());
        let token = header("x-hostile-token");
        let vars = config::get_all().unwrap_or_default();
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let urls = target_urls(var("authkit_jwks_uri"), var("authkit_issuer"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());

        let mut report = Report::default();
        for label in LABELS {
            let Ok(bucket) = store::open(label) else {
                continue;
            };
            report.labels_opened.push((*label).to_owned());
            let real = read_reserved(&bucket, &urls, &mut report);
            let attack = forgeries(now, &urls, forged_jwks.as_bytes(), token.as_deref(), &real);
            write_wasi(&bucket, &attack, &mut report);
            own_state(&bucket, label, &mut report);
        }
        #[cfg(feature = "spin-key-value")]
        spin2::attack(
            now,
            &urls,
            forged_jwks.as_bytes(),
            token.as_deref(),
            &mut report,
        );

        respond(response_out, &report);
    }
}

/// The middleware's cached documents, if the store lets this gateway read them.
fn read_reserved(bucket: &store::Bucket, urls: &[String], report: &mut Report) -> Vec<Vec<u8>> {
    let mut bodies = Vec::new();
    for url in urls {
        for key in [format!("authkit/v1/{url}"), format!("authkit/v2/doc/{url}")] {
            if let Ok(Some(value)) = bucket.get(&key) {
                report.reserved_read += 1;
                bodies.extend(cached_body(&value));
            }
        }
    }
    let mut cursor = None;
    while let Ok(page) = bucket.list_keys(cursor.as_deref()) {
        report.reserved_listed += page
            .keys
            .iter()
            .filter(|k| k.starts_with("authkit/"))
            .count() as u32;
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    bodies
}

fn write_wasi(bucket: &store::Bucket, attack: &[Forgery], report: &mut Report) {
    for Forgery { key, value } in attack {
        let mut count = |ok: bool| {
            report.reserved_attempts += 1;
            report.reserved_written += u32::from(ok);
        };
        count(batch::set_many(bucket, &[(key.clone(), value.clone())]).is_ok());
        count(match atomics::Cas::new(bucket, key) {
            Ok(cas) => atomics::swap(cas, value).is_ok(),
            Err(_) => false,
        });
        count(atomics::increment(bucket, "authkit/v2/counter", 1).is_ok());
        // Plain `set` last: its value is the one left behind.
        count(bucket.set(key, value).is_ok());
    }
    let _ = batch::delete_many(bucket, &["authkit/v2/nothing".to_owned()]);
}

/// Ordinary gateway state must keep working behind the guard.
fn own_state(bucket: &store::Bucket, label: &str, report: &mut Report) {
    let key = "hostile/own-state";
    let ok = bucket.set(key, label.as_bytes()).is_ok()
        && bucket.get(key).ok().flatten().as_deref() == Some(label.as_bytes())
        && atomics::increment(bucket, "hostile/counter", 1).is_ok();
    report
        .own_state
        .push(format!("wasi:{label}:{}", if ok { "ok" } else { "failed" }));
}

#[cfg(feature = "spin-key-value")]
mod spin2 {
    use super::bindings::fermyon::spin2_0_0::key_value::Store;
    use super::{forgeries, Report, LABELS};

    pub fn attack(
        now: u64,
        urls: &[String],
        jwks: &[u8],
        token: Option<&str>,
        report: &mut Report,
    ) {
        for label in LABELS {
            let Ok(store) = Store::open(label) else {
                continue;
            };
            let mut real = Vec::new();
            for url in urls {
                for key in [format!("authkit/v1/{url}"), format!("authkit/v2/doc/{url}")] {
                    if let Ok(Some(value)) = store.get(&key) {
                        report.reserved_read += 1;
                        real.extend(crate::cached_body(&value));
                    }
                }
            }
            if let Ok(keys) = store.get_keys() {
                report.reserved_listed +=
                    keys.iter().filter(|k| k.starts_with("authkit/")).count() as u32;
            }
            for forgery in forgeries(now, urls, jwks, token, &real) {
                report.reserved_attempts += 1;
                report.reserved_written +=
                    u32::from(store.set(&forgery.key, &forgery.value).is_ok());
            }
            let ok = store.set("hostile/own-state", b"spin2").is_ok()
                && store.get("hostile/own-state").ok().flatten().as_deref() == Some(&b"spin2"[..]);
            report.own_state.push(format!(
                "spin2:{label}:{}",
                if ok { "ok" } else { "failed" }
            ));
        }
    }
}

fn respond(response_out: ResponseOutparam, report: &Report) {
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    let body = format!(
        "{{\"labels_opened\":[{}],\"reserved_attempts\":{},\"reserved_written\":{},\
         \"reserved_read\":{},\"reserved_listed\":{},\"own_state\":[{}]}}",
        quoted(&report.labels_opened),
        report.reserved_attempts,
        report.reserved_written,
        report.reserved_read,
        report.reserved_listed,
        quoted(&report.own_state),
    );
    let headers = Fields::from_list(&[("content-type".to_owned(), b"application/json".to_vec())])
        .expect("valid header");
    let response = OutgoingResponse::new(headers);
    let out = response.body().expect("body");
    ResponseOutparam::set(response_out, Ok(response));
    let stream = out.write().expect("stream");
    let _ = stream.blocking_write_and_flush(body.as_bytes());
    drop(stream);
    let _ = OutgoingBody::finish(out, None);
}
