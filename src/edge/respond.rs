//! Writes a middleware [`Reply`] into the response slot.

use wasi::http::types::{Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};

use crate::response::Reply;

/// `blocking-write-and-flush` accepts at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

/// Sets the response exactly once; if the reply cannot be represented, a bare 500.
pub fn write(out: ResponseOutparam, reply: &Reply) {
    let list: Vec<(String, Vec<u8>)> = reply
        .headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
        .collect();
    let (response, body) = match Fields::from_list(&list) {
        Ok(headers) => (OutgoingResponse::new(headers), reply.body.as_slice()),
        Err(_) => (OutgoingResponse::new(Fields::new()), &[][..]),
    };
    if response.set_status_code(reply.status).is_err() {
        let _ = response.set_status_code(500);
    }
    let Ok(outgoing_body) = response.body() else {
        ResponseOutparam::set(out, Ok(response));
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = outgoing_body.write() {
        for chunk in body.chunks(WRITE_CHUNK) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
}
