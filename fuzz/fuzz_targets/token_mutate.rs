//! Structured mutations of the committed valid tokens: byte edits, JSON edits of
//! the header (`alg`, `kid`, `crit`, `typ`, ...) and of the claims, segments
//! swapped between tokens, signatures truncated or re-encoded. Asserts: no panic,
//! and a token is accepted only with the signing input of a committed token.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wasmcp_spin_authkit::token;
use wasmcp_spin_authkit_fuzz as fx;

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Known(u8),
    Array(Vec<String>),
}

impl Json {
    fn value(&self) -> Value {
        const KNOWN: [&str; 16] = [
            "RS256",
            "PS256",
            "ES256",
            "ES384",
            "EdDSA",
            "Ed25519",
            "HS256",
            "none",
            "rsa-1",
            "rsa-2",
            "ec-256",
            "ec-384",
            "ed-1",
            fx::ISSUER,
            fx::AUDIENCE,
            "JWT",
        ];
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Self::Str(s) => Value::String(s.clone()),
            Self::Known(i) => Value::String(KNOWN[*i as usize % KNOWN.len()].into()),
            Self::Array(items) => items.iter().map(|s| Value::String(s.clone())).collect(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Xor {
        pos: u16,
        mask: u8,
    },
    Insert {
        pos: u16,
        byte: u8,
    },
    Delete {
        pos: u16,
    },
    /// Sets (or, with `None`, removes) a member of the header or claims object.
    Member {
        claims: bool,
        name: u8,
        value: Option<Json>,
    },
    /// Replaces segment `segment` by the same segment of another fixture token.
    Splice {
        segment: u8,
        from: u8,
    },
    /// Drops `len` bytes from the end of the signature.
    TruncateSignature {
        len: u8,
    },
    /// Re-encodes a segment with standard base64 / padding.
    Reencode {
        segment: u8,
        padded: bool,
        standard: bool,
    },
}

const NAMES: [&str; 12] = [
    "alg", "kid", "crit", "typ", "jku", "exp", "nbf", "iat", "iss", "aud", "scope", "scp",
];

#[derive(Arbitrary, Debug)]
struct Input {
    token: u8,
    ops: Vec<Op>,
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn apply(token: &mut String, op: &Op) {
    let fixtures = fx::tokens();
    match op {
        Op::Xor { pos, mask } => {
            let mut bytes = std::mem::take(token).into_bytes();
            if !bytes.is_empty() {
                let i = *pos as usize % bytes.len();
                bytes[i] ^= mask;
            }
            *token = String::from_utf8_lossy(&bytes).into_owned();
        }
        Op::Insert { pos, byte } => {
            let mut bytes = std::mem::take(token).into_bytes();
            let i = *pos as usize % (bytes.len() + 1);
            bytes.insert(i, *byte);
            *token = String::from_utf8_lossy(&bytes).into_owned();
        }
        Op::Delete { pos } => {
            let mut bytes = std::mem::take(token).into_bytes();
            if !bytes.is_empty() {
                bytes.remove(*pos as usize % bytes.len());
            }
            *token = String::from_utf8_lossy(&bytes).into_owned();
        }
        Op::Member {
            claims,
            name,
            value,
        } => {
            let mut segs = segments(token);
            let i = usize::from(*claims);
            let Some(seg) = segs.get_mut(i) else { return };
            let Some(Value::Object(mut object)) =
                fx::b64_decode(seg).and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            else {
                return;
            };
            let name = NAMES[*name as usize % NAMES.len()];
            match value {
                Some(v) => object.insert(name.into(), v.value()),
                None => object.remove(name),
            };
            *seg = fx::b64(Value::Object(object).to_string().as_bytes());
            *token = segs.join(".");
        }
        Op::Splice { segment, from } => {
            let mut segs = segments(token);
            let other = segments(fixtures[*from as usize % fixtures.len()].token);
            let i = *segment as usize % 3;
            if let (Some(seg), Some(src)) = (segs.get_mut(i), other.get(i)) {
                seg.clone_from(src);
            }
            *token = segs.join(".");
        }
        Op::TruncateSignature { len } => {
            let mut segs = segments(token);
            if let Some(sig) = segs.last_mut() {
                let mut keep = sig.len().saturating_sub(*len as usize);
                while !sig.is_char_boundary(keep) {
                    keep -= 1;
                }
                sig.truncate(keep);
            }
            *token = segs.join(".");
        }
        Op::Reencode {
            segment,
            padded,
            standard,
        } => {
            let mut segs = segments(token);
            let i = *segment as usize % 3;
            let Some(seg) = segs.get_mut(i) else { return };
            let Some(bytes) = fx::b64_decode(seg) else {
                return;
            };
            let mut s = fx::b64(&bytes);
            if *standard {
                s = s.replace('-', "+").replace('_', "/");
            }
            if *padded {
                while s.len() % 4 != 0 {
                    s.push('=');
                }
            }
            *seg = s;
            *token = segs.join(".");
        }
    }
}

fuzz_target!(|input: Input| {
    let fixtures = fx::tokens();
    let mut token = fixtures[input.token as usize % fixtures.len()]
        .token
        .to_owned();
    for op in input.ops.iter().take(16) {
        apply(&mut token, op);
    }
    if let Ok(verified) = token::verify(&token, fx::key_set(), &fx::policy(), fx::NOW) {
        fx::assert_only_fixtures_accepted(&token, &verified);
    }
});
