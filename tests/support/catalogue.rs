//! The attack catalogue: one row per attack, with the exact status, challenge
//! and body it must get, and the legitimate control rows that must be let
//! through. Rows are grouped in families (where the token is carried, its
//! shape, `alg`, key selection, signatures, ...).
//!
//! Two runners share it: the middleware crate's `tests/attack_catalogue.rs` runs
//! every row against the core (`gate::decide`, natively), and the host's
//! `tests/attacks.rs` runs a representative subset ([`Attack::end_to_end`])
//! through the composed server over HTTP, on the local host or on Spin.
//! docs/SECURITY.md "Attack catalogue" is this table ([`markdown`]).
//!
//! Outcomes follow RFC 6750 §3.1: a request that carries no usable credentials
//! gets a 401 without an error code; a malformed *request* (several
//! `Authorization` headers) a 400 `invalid_request`; a token that is malformed,
//! expired or otherwise invalid a 401 `invalid_token` (so does the MCP
//! authorization spec); a valid token without the required scope a 403
//! `insufficient_scope`.
//!
//! The parent module provides `tokens` (tests/support/tokens.rs).

// Each runner uses part of it.
#![allow(dead_code)]

use jwt_simple::prelude::*;
use serde_json::{json, Value};

use super::tokens::{self, b64, keys, AUDIENCE};

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// The scope the scoped server requires.
pub const SCOPE: &str = "mcp:tools";

// Descriptions the middleware sends (src/token.rs, src/gate.rs): fixed strings.
pub const FORMAT: &str = "Invalid token format";
const ALG: &str = "Unsupported token algorithm";
const CRIT: &str = "Unsupported critical token header";
pub const KID: &str = "Unknown signing key";
const MISMATCH: &str = "Token algorithm does not match the signing key";
const SIG: &str = "Invalid token signature";
const CLAIMS: &str = "Invalid token claims";
const NO_EXP: &str = "Token has no expiration";
const EXPIRED: &str = "Token has expired";
const NOT_YET: &str = "Token is not yet valid";
const ISSUER: &str = "Invalid token issuer";
const AUD: &str = "Invalid token audience";
const LARGE: &str = "Token too large";
const TYPE: &str = "Unsupported token type";
const NO_HEADER: &str = "Missing authorization header";
const SCHEME: &str = "Unsupported authorization scheme";
const MULTIPLE: &str = "Multiple authorization headers";

/// How an attack must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Control row: 200 from the gateway (`initialize` result).
    Gateway,
    /// 401 `WWW-Authenticate: Bearer` without an error code (no usable credentials).
    NoCredentials(&'static str),
    /// 401 `invalid_token` with this description.
    InvalidToken(&'static str),
    /// 400 `invalid_request` with this description.
    InvalidRequest(&'static str),
    /// 403 `insufficient_scope`.
    InsufficientScope,
    /// Answered by the middleware itself (metadata, preflight, 405): never forwarded.
    Middleware(u16),
    /// Refused by the HTTP server before the component ran.
    Host(u16),
    /// A header value that is not UTF-8: Spin's trigger refuses the whole request
    /// (500, empty body) before the component runs; hosts that pass the bytes on
    /// (authkit-host, `wasmtime serve`) get the middleware's 401 `invalid_token`.
    NonUtf8Header,
}

impl Outcome {
    pub fn markdown(self) -> String {
        match self {
            Self::Gateway => "**200, reaches the gateway** (control)".to_owned(),
            Self::NoCredentials(d) => format!("401, no error code (\"{d}\")"),
            Self::InvalidToken(d) => format!("401 `invalid_token` \"{d}\""),
            Self::InvalidRequest(d) => format!("400 `invalid_request` \"{d}\""),
            Self::InsufficientScope => "403 `insufficient_scope`, `scope=\"mcp:tools\"`".to_owned(),
            Self::Middleware(s) => format!("{s}, answered by the middleware, not forwarded"),
            Self::Host(s) => format!("{s} from the HTTP server; the component never runs"),
            Self::NonUtf8Header => format!(
                "401 `invalid_token` \"{FORMAT}\"; on Spin 500 from Spin itself (it refuses non-UTF-8 header values), the component never runs"
            ),
        }
    }
}

/// Which composed server a row is sent to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `authkit_issuer`, `authkit_jwks_uri`, `authkit_audience`.
    Plain,
    /// The same plus `authkit_required_scopes = mcp:tools`.
    Scoped,
}

pub struct Request {
    pub method: &'static str,
    pub target: String,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub body: Vec<u8>,
    pub server: Server,
    /// The resource the challenge's `resource_metadata` describes.
    pub resource_path: &'static str,
}

impl Request {
    /// `POST /mcp` with an MCP `initialize` body and these headers.
    fn mcp(authorization: &[&[u8]]) -> Self {
        let mut headers: Vec<(&'static str, Vec<u8>)> = vec![
            ("Content-Type", b"application/json".to_vec()),
            ("Accept", b"application/json, text/event-stream".to_vec()),
        ];
        for value in authorization {
            headers.push(("Authorization", value.to_vec()));
        }
        Self {
            method: "POST",
            target: "/mcp".to_owned(),
            headers,
            body: INITIALIZE.as_bytes().to_vec(),
            server: Server::Plain,
            resource_path: "/mcp",
        }
    }

    fn target(mut self, target: &str) -> Self {
        self.target = target.to_owned();
        self
    }

    fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    fn header(mut self, name: &'static str, value: &[u8]) -> Self {
        self.headers.push((name, value.to_vec()));
        self
    }

    fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    fn resource_path(mut self, path: &'static str) -> Self {
        self.resource_path = path;
        self
    }

    fn scoped(mut self) -> Self {
        self.server = Server::Scoped;
        self
    }
}

/// `Authorization: Bearer <token>`.
fn bearer(token: &str) -> Request {
    Request::mcp(&[format!("Bearer {token}").as_bytes()])
}

/// An `Authorization` header with exactly these bytes.
fn authz(value: &[u8]) -> Request {
    Request::mcp(&[value])
}

pub struct Attack {
    /// The family the row belongs to (a heading of the catalogue).
    pub family: &'static str,
    pub name: &'static str,
    pub what: String,
    pub request: Request,
    pub outcome: Outcome,
    pub why: &'static str,
}

impl Outcome {
    /// Whether the HTTP server, not the middleware, decides this row on some host:
    /// only an end-to-end run can check it.
    pub fn needs_http(self) -> bool {
        matches!(self, Self::Host(_) | Self::NonUtf8Header)
    }
}

/// The exact answer a refused row must get.
pub struct Refused {
    pub status: u16,
    /// The whole `WWW-Authenticate` value.
    pub challenge: String,
    /// `{"error", "error_description"}`.
    pub body: Value,
}

impl Attack {
    /// What this row must get when `outcome` is a refusal with a challenge
    /// (`None` for the other outcomes), on a server at `origin` (`http://host:port`).
    pub fn refused(&self, outcome: Outcome, origin: &str) -> Option<Refused> {
        let (status, code, description) = match outcome {
            Outcome::NoCredentials(d) => (401, None, d),
            Outcome::InvalidToken(d) => (401, Some("invalid_token"), d),
            Outcome::InvalidRequest(d) => (400, Some("invalid_request"), d),
            Outcome::InsufficientScope => (
                403,
                Some("insufficient_scope"),
                "Token lacks a required scope",
            ),
            _ => return None,
        };
        let mut challenge = String::from("Bearer ");
        if let Some(code) = code {
            challenge.push_str(&format!(
                "error=\"{code}\", error_description=\"{description}\", "
            ));
        }
        if self.request.server == Server::Scoped && status != 400 {
            challenge.push_str(&format!("scope=\"{SCOPE}\", "));
        }
        challenge.push_str(&format!(
            "resource_metadata=\"{origin}/.well-known/oauth-protected-resource{}\"",
            self.request.resource_path
        ));
        Some(Refused {
            status,
            challenge,
            body: json!({"error": code.unwrap_or("unauthorized"), "error_description": description}),
        })
    }
}

/// The rows an end-to-end run sends: in each family, the first row of every
/// distinct outcome; every control row (each algorithm and key shape verified by
/// the Wasm build of the crypto); and every row the HTTP server decides. Each
/// family and each way of answering is then proven through the composed
/// component; the core runner proves every row.
pub fn end_to_end(attacks: &[Attack]) -> Vec<&Attack> {
    let mut seen: Vec<(&str, Outcome)> = Vec::new();
    attacks
        .iter()
        .filter(|a| {
            let first = !seen.contains(&(a.family, a.outcome));
            seen.push((a.family, a.outcome));
            first || a.outcome == Outcome::Gateway || a.outcome.needs_http()
        })
        .collect()
}

/// The catalogue, in families.
struct Catalogue {
    family: &'static str,
    rows: Vec<Attack>,
}

impl Catalogue {
    /// Rows from now on belong to this family.
    fn family(&mut self, family: &'static str) {
        self.family = family;
    }

    fn row(
        &mut self,
        name: &'static str,
        what: impl Into<String>,
        request: Request,
        outcome: Outcome,
        why: &'static str,
    ) {
        self.rows.push(Attack {
            family: self.family,
            name,
            what: what.into(),
            request,
            outcome,
            why,
        });
    }
}

// ---------------------------------------------------------------------------
// Token forging

/// base64url without padding of a JSON value's compact text.
fn seg(v: &Value) -> String {
    b64(v.to_string().as_bytes())
}

fn unb64(s: &str) -> Vec<u8> {
    Base64UrlSafeNoPadding::decode_to_vec(s, None).unwrap()
}

/// Signs the exact header and payload texts with an Ed25519 key (raw JWS:
/// any JSON, duplicates and odd numbers included).
fn sign_raw(key: &Ed25519KeyPair, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.key_pair().as_ref().sk.sign(input.as_bytes(), None);
    format!("{input}.{}", b64(&sig[..]))
}

/// Signed by the issuer's Ed25519 key `ed-1`: the attacker cannot do this, so
/// these rows model a confused or compromised issuer, or check that a claim
/// problem is found even when the signature is good.
fn issuer_signed(header: &str, payload: &str) -> String {
    sign_raw(&keys().ed25519, header, payload)
}

const ED_HEADER: &str = r#"{"alg":"EdDSA","typ":"JWT","kid":"ed-1"}"#;

/// Issuer-signed with the usual header and these claims.
fn ed(claims: &Value) -> String {
    issuer_signed(ED_HEADER, &claims.to_string())
}

/// Issuer-signed with this header (a JSON value) and valid claims.
fn ed_header(header: &Value, claims: &Value) -> String {
    issuer_signed(&header.to_string(), &claims.to_string())
}

/// Replaces the signature segment.
fn with_sig(token: &str, sig: &[u8]) -> String {
    let input = token.rsplit_once('.').unwrap().0;
    format!("{input}.{}", b64(sig))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// P-256 group order n.
const P256_N: &str = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
/// Ed25519 group order L, little-endian.
const ED25519_L_LE: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

/// a - b over 32-byte big-endian numbers (a >= b).
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = i16::from(d < 0);
        out[i] = d.rem_euclid(256) as u8;
    }
    out
}

/// a + b over 32-byte little-endian numbers (no overflow for S + L).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

/// ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` of a P1363 `r || s` signature.
fn der_signature(p1363: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let mut v: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = p1363.split_at(p1363.len() / 2);
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

/// Nested JSON arrays `depth` deep.
fn deep(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------------------
// The catalogue

pub struct Ctx {
    pub iss: String,
    pub now: u64,
    /// URLs on the test's IdP that attackers point `jku` / `x5u` at.
    pub attacker_jwks: String,
    pub attacker_cert: String,
}

impl Ctx {
    /// Valid claims for the plain server.
    fn claims(&self) -> Value {
        json!({"iss": self.iss, "sub": "user_123", "aud": AUDIENCE, "iat": self.now, "exp": self.now + 300})
    }

    /// Valid claims with members replaced (`null` removes one).
    fn claims_with(&self, changes: Value) -> Value {
        let mut c = self.claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    /// Claims text with `iss`, `sub`, `aud`, `iat`, then `rest` verbatim
    /// (for numbers and duplicates JSON values cannot hold).
    fn claims_raw(&self, rest: &str) -> String {
        format!(
            r#"{{"iss":"{}","sub":"user_123","aud":"{AUDIENCE}","iat":{},{rest}}}"#,
            self.iss, self.now
        )
    }

    fn exp(&self) -> u64 {
        self.now + 300
    }

    fn jwt_claims(&self) -> JWTClaims<NoCustomClaims> {
        tokens::claims(&self.iss)
    }
}

pub fn catalogue(cx: &Ctx) -> Vec<Attack> {
    use Outcome::*;
    let mut c = Catalogue {
        family: "",
        rows: Vec::new(),
    };
    let k = keys();
    let valid_ed = ed(&cx.claims());
    let valid_rsa = k.rsa.sign(cx.jwt_claims()).unwrap();
    let valid_es = k.es256.sign(cx.jwt_claims()).unwrap();
    let (rsa_input, rsa_sig) = valid_rsa.rsplit_once('.').unwrap();
    let (rsa_h, rsa_p) = rsa_input.split_once('.').unwrap();
    let (ed_input, ed_sig) = valid_ed.rsplit_once('.').unwrap();
    let (ed_h, ed_p) = ed_input.split_once('.').unwrap();
    let es_sig = unb64(valid_es.rsplit_once('.').unwrap().1);
    let rsa_der = k.rsa.to_der().unwrap();
    let rsa_pub = k.rsa.public_key();
    let attacker = Ed25519KeyPair::generate().with_key_id("atk-1");
    let attacker_jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "atk-1", "x": b64(&attacker.public_key().to_bytes())});
    let claims_text = cx.claims().to_string();

    // Legitimate requests must reach the gateway.
    c.family("Controls");
    c.row(
        "control: RS256",
        "a valid RS256 token (JWK `alg: RS256`)",
        bearer(&valid_rsa),
        Gateway,
        "RFC 6750 §2.1, RFC 9068",
    );
    c.row(
        "control: ES256",
        "a valid ES256 token",
        bearer(&valid_es),
        Gateway,
        "RFC 7518 §3.4",
    );
    c.row(
        "control: EdDSA",
        "a valid EdDSA (Ed25519) token",
        bearer(&valid_ed),
        Gateway,
        "RFC 8037 §3.1",
    );
    c.row(
        "control: alg Ed25519",
        "`alg: Ed25519` (the fully-specified name) from the Ed25519 key",
        bearer(&ed_header(
            &json!({"alg": "Ed25519", "kid": "ed-1"}),
            &cx.claims(),
        )),
        Gateway,
        "RFC 9864",
    );
    let es_no_kid = ES256KeyPair::from_bytes(&k.es256.to_bytes())
        .unwrap()
        .sign(cx.jwt_claims())
        .unwrap();
    c.row(
        "control: no kid, one fitting key",
        "ES256 without `kid`; the set has a single P-256 key",
        bearer(&es_no_kid),
        Gateway,
        "RFC 7515 §4.1.4 (kid is OPTIONAL)",
    );
    c.row(
        "control: kid null",
        "`\"kid\": null` (treated as absent), signed by the single Ed25519 key",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": null}),
            &cx.claims(),
        )),
        Gateway,
        "RFC 7515 §4.1.4",
    );
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        c.row(
            "control: scheme case",
            format!("`Authorization: {scheme} <token>`"),
            authz(format!("{scheme} {valid_rsa}").as_bytes()),
            Gateway,
            "RFC 9110 §11.1: the auth-scheme is case-insensitive",
        );
    }
    c.row(
        "control: several spaces",
        "`Bearer` followed by four spaces, then the token",
        authz(format!("Bearer    {valid_rsa}").as_bytes()),
        Gateway,
        "RFC 9110 §11.4: `auth-scheme [ 1*SP token68 ]`",
    );
    c.row(
        "control: tab separator",
        "`Bearer<TAB><token>`",
        authz(format!("Bearer\t{valid_rsa}").as_bytes()),
        Gateway,
        "tolerated (RFC 9110 §5.6.3 whitespace); harmless",
    );
    c.row(
        "control: surrounding whitespace",
        "leading and trailing spaces around the field value",
        authz(format!("  Bearer {valid_rsa}  ").as_bytes()),
        Gateway,
        "RFC 9110 §5.5: OWS around a field value is not part of it",
    );
    c.row(
        "control: audience array",
        "`aud: [\"https://other.example\", <our audience>]`",
        bearer(&ed(&cx.claims_with(
            json!({"aud": ["https://other.example", AUDIENCE]}),
        ))),
        Gateway,
        "RFC 7519 §4.1.3, RFC 9068 §4: aud contains the resource",
    );
    c.row(
        "control: typ at+jwt",
        "`typ: at+jwt`",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "ed-1", "typ": "at+jwt"}),
            &cx.claims(),
        )),
        Gateway,
        "RFC 9068 §2.1",
    );
    c.row(
        "control: typ application/at+jwt",
        "`typ: application/at+jwt`",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "ed-1", "typ": "application/at+jwt"}),
            &cx.claims(),
        )),
        Gateway,
        "RFC 9068 §4, RFC 7515 §4.1.9",
    );
    c.row(
        "control: typ absent",
        "no `typ` header",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "ed-1"}),
            &cx.claims(),
        )),
        Gateway,
        "RFC 7519 §5.1: typ is OPTIONAL; most providers send `JWT` or nothing",
    );
    c.row(
        "control: fractional exp",
        "`exp` = now + 300.5",
        bearer(&issuer_signed(
            ED_HEADER,
            &cx.claims_raw(&format!(r#""exp":{}.5"#, cx.exp())),
        )),
        Gateway,
        "RFC 7519 §2: NumericDate may be non-integer",
    );
    c.row(
        "control: expired within leeway",
        "`exp` 30 s ago (leeway 60 s)",
        bearer(&ed(&cx.claims_with(json!({"exp": cx.now - 30})))),
        Gateway,
        "RFC 7519 §4.1.4: small leeway for clock skew",
    );
    c.row(
        "control: query parameter ignored",
        "a valid header token plus `?access_token=garbage`",
        bearer(&valid_rsa).target("/mcp?access_token=garbage"),
        Gateway,
        "query tokens are never read (MCP authorization: tokens MUST NOT be in the query)",
    );
    let mut high_s = es_sig.clone();
    let s = sub_be(&hex(P256_N), &es_sig[32..]);
    high_s[32..].copy_from_slice(&s);
    c.row(
        "control: ECDSA high-S twin",
        "a valid ES256 signature with s replaced by n − s (the other valid signature)",
        bearer(&with_sig(&valid_es, &high_s)),
        Gateway,
        "ECDSA is malleable and RFC 7518 §3.4 does not require low-S; the claims are still the issuer's. Never key revocation on the token's bytes",
    );

    c.family("Where the token is carried");
    c.row(
        "no token",
        "no `Authorization` header",
        Request::mcp(&[]),
        NoCredentials(NO_HEADER),
        "RFC 6750 §3.1: no error code without credentials",
    );
    c.row(
        "query token",
        "a valid token only in `?access_token=`",
        Request::mcp(&[]).target(&format!("/mcp?access_token={valid_rsa}")),
        NoCredentials(NO_HEADER),
        "MCP authorization (2025-06-18): access tokens MUST NOT be in the query string; RFC 6750 §2.3 is not supported",
    );
    c.row(
        "form-body token",
        "a valid token as `access_token=` in an `application/x-www-form-urlencoded` body",
        Request {
            headers: vec![(
                "Content-Type",
                b"application/x-www-form-urlencoded".to_vec(),
            )],
            body: format!("access_token={valid_rsa}").into_bytes(),
            ..Request::mcp(&[])
        },
        NoCredentials(NO_HEADER),
        "RFC 6750 §2.2 is optional and not supported (MCP: header only)",
    );
    c.row(
        "Proxy-Authorization",
        "a valid token in `Proxy-Authorization` instead",
        Request::mcp(&[]).header(
            "Proxy-Authorization",
            format!("Bearer {valid_rsa}").as_bytes(),
        ),
        NoCredentials(NO_HEADER),
        "RFC 9110 §11.7.2: credentials for a proxy, not for this resource",
    );
    c.row(
        "two Authorization headers",
        "the same valid `Bearer` header twice",
        Request::mcp(&[format!("Bearer {valid_rsa}").as_bytes(), format!("Bearer {valid_rsa}").as_bytes()]),
        InvalidRequest(MULTIPLE),
        "RFC 6750 §3.1 invalid_request (repeats a parameter); RFC 9110 §5.3: Authorization is a singleton",
    );
    c.row(
        "two Authorization headers, one bad",
        "a valid `Bearer` header and a `Bearer garbage` header",
        Request::mcp(&[format!("Bearer {valid_rsa}").as_bytes(), b"Bearer garbage"]),
        InvalidRequest(MULTIPLE),
        "RFC 6750 §3.1; never pick one (parser differentials)",
    );
    c.row(
        "Bearer and Basic",
        "a valid `Bearer` header and a `Basic` header",
        Request::mcp(&[
            format!("Bearer {valid_rsa}").as_bytes(),
            b"Basic dXNlcjpwYXNz",
        ]),
        InvalidRequest(MULTIPLE),
        "RFC 6750 §3.1",
    );
    c.row(
        "comma-joined credentials",
        "`Bearer <token>, Bearer <token>` in one field",
        authz(format!("Bearer {valid_rsa}, Bearer {valid_rsa}").as_bytes()),
        InvalidToken(FORMAT),
        "RFC 6750 §2.1: one b64token",
    );
    c.row(
        "Basic scheme",
        "`Authorization: Basic dXNlcjpwYXNz`",
        authz(b"Basic dXNlcjpwYXNz"),
        NoCredentials(SCHEME),
        "RFC 6750 §3.1: unsupported method, no error code",
    );
    c.row(
        "DPoP scheme",
        "a valid token under `Authorization: DPoP`",
        authz(format!("DPoP {valid_rsa}").as_bytes()),
        NoCredentials(SCHEME),
        "RFC 9449 §7.1: DPoP is not supported; no downgrade to Bearer",
    );
    c.row(
        "scheme without space",
        "`Bearer<token>` (no separator)",
        authz(format!("Bearer{valid_rsa}").as_bytes()),
        NoCredentials(SCHEME),
        "RFC 9110 §11.4: the scheme is a separate token",
    );
    c.row(
        "empty Authorization",
        "`Authorization:` with an empty value",
        authz(b""),
        NoCredentials(SCHEME),
        "RFC 6750 §3.1",
    );
    c.row(
        "Bearer without a token",
        "`Authorization: Bearer`",
        authz(b"Bearer"),
        InvalidToken(FORMAT),
        "RFC 6750 §2.1: b64token required",
    );
    c.row(
        "token with inner space",
        "`Bearer <header>. <payload>.<sig>`",
        authz(format!("Bearer {}. {}", rsa_h, &valid_rsa[rsa_h.len() + 1..]).as_bytes()),
        InvalidToken(FORMAT),
        "RFC 6750 §2.1 b64token",
    );
    c.row(
        "non-UTF-8 bytes",
        "`Bearer ` followed by bytes 0xFF 0xFE 0xFD",
        authz(b"Bearer \xff\xfe\xfd"),
        NonUtf8Header,
        "RFC 6750 §2.1 b64token is ASCII; a malformed token is invalid_token",
    );
    c.row(
        "Latin-1 bytes in a token",
        "a valid token with one 0xE9 byte inserted",
        authz(
            &[
                b"Bearer ".as_slice(),
                rsa_h.as_bytes(),
                b"\xe9.",
                &valid_rsa.as_bytes()[rsa_h.len() + 1..],
            ]
            .concat(),
        ),
        NonUtf8Header,
        "RFC 6750 §2.1",
    );
    c.row(
        "NUL byte",
        "`Bearer abc<NUL>def`",
        authz(b"Bearer abc\0def"),
        Host(400),
        "RFC 9110 §5.5: NUL is not allowed in a field value",
    );
    c.row(
        "obsolete line folding",
        "`Authorization: Bearer<CRLF><SP><token>` (obs-fold)",
        authz(format!("Bearer\r\n {valid_rsa}").as_bytes()),
        Host(400),
        "RFC 9112 §5.2: obs-fold is refused by the HTTP server",
    );
    c.row(
        "space before the colon",
        "`Authorization : Bearer <token>`",
        Request::mcp(&[]).header("Authorization ", format!("Bearer {valid_rsa}").as_bytes()),
        Host(400),
        "RFC 9112 §5.1: MUST be refused with 400 (request smuggling)",
    );
    c.row(
        "JWS JSON serialization",
        "a flattened JWS JSON object (CVE-2022-39227 polyglot shape) as the credential",
        authz(
            format!(
                r#"Bearer {{"protected":"{rsa_h}","payload":"{rsa_p}","signature":"{rsa_sig}"}}"#
            )
            .as_bytes(),
        ),
        InvalidToken(FORMAT),
        "RFC 9068 §2: access tokens are compact JWS; CVE-2022-39227",
    );
    c.row(
        "percent-encoded token",
        "the token with its dots as `%2E`",
        authz(format!("Bearer {}", valid_rsa.replace('.', "%2E")).as_bytes()),
        InvalidToken(FORMAT),
        "RFC 6750 §2.1 b64token",
    );
    c.row(
        "oversized token (17 KiB)",
        "a 17 KiB b64token",
        authz(format!("Bearer {}", "a".repeat(17 * 1024)).as_bytes()),
        InvalidToken(LARGE),
        "resource limit: 16 KiB, refused before any parsing or key fetch",
    );
    c.row(
        "oversized header (256 KiB)",
        "a 256 KiB `Authorization` value",
        authz(format!("Bearer {}", "a".repeat(256 * 1024)).as_bytes()),
        InvalidToken(LARGE),
        "resource limit; no trap, no 500",
    );
    c.row(
        "1 MiB header",
        "a 1 MiB `Authorization` value",
        authz(format!("Bearer {}", "a".repeat(1024 * 1024)).as_bytes()),
        Host(431),
        "RFC 6585 §5; the HTTP server's header limit (Spin's too)",
    );

    c.family("Token shape");
    c.row(
        "garbage",
        "`Bearer garbage`",
        bearer("garbage"),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1 compact serialization",
    );
    c.row(
        "two segments",
        "`<header>.<payload>`",
        bearer(rsa_input),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1",
    );
    c.row(
        "four segments",
        "a valid token plus `.x`",
        bearer(&format!("{valid_rsa}.x")),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1",
    );
    c.row(
        "JWE shape (5 segments)",
        "`{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}` header and four more segments",
        bearer(&format!(
            "{}.a.b.c.d",
            seg(&json!({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "rsa-1"}))
        )),
        InvalidToken(FORMAT),
        "RFC 7516 §7.1: encrypted tokens are not accepted (CVE-2022-3102 class)",
    );
    c.row(
        "1000 segments",
        "`a.` repeated 1000 times",
        bearer(&"a.".repeat(1000)),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1; bounded work",
    );
    c.row(
        "only dots",
        "`....`",
        bearer("...."),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1",
    );
    c.row(
        "empty header segment",
        "`.<payload>.<sig>`",
        bearer(&format!(".{rsa_p}.{rsa_sig}")),
        InvalidToken(FORMAT),
        "RFC 7515 §7.1",
    );
    c.row(
        "padding in header",
        "`<header>=.<payload>.<sig>`",
        bearer(&format!("{rsa_h}=.{rsa_p}.{rsa_sig}")),
        InvalidToken(FORMAT),
        "RFC 7515 §2: base64url without padding",
    );
    c.row(
        "padding in payload",
        "`<header>.<payload>==.<sig>`",
        bearer(&format!("{rsa_h}.{rsa_p}==.{rsa_sig}")),
        InvalidToken(FORMAT),
        "RFC 7515 §2",
    );
    c.row(
        "padding in signature",
        "`<header>.<payload>.<sig>==`",
        bearer(&format!("{valid_rsa}==")),
        InvalidToken(FORMAT),
        "RFC 7515 §2",
    );
    c.row(
        "standard alphabet in header",
        "header segment with `+` and `/` (base64, not base64url)",
        bearer(&format!(
            "{}.{ed_p}.{ed_sig}",
            ed_h.replace('-', "+")
                .replace('_', "/")
                .replacen('e', "+", 1)
        )),
        InvalidToken(FORMAT),
        "RFC 7515 §2: base64url alphabet only",
    );
    c.row(
        "standard alphabet in payload",
        "payload segment with `+`",
        bearer(&format!("{ed_h}.{}.{ed_sig}", ed_p.replacen('e', "+", 1))),
        InvalidToken(FORMAT),
        "RFC 7515 §2",
    );
    c.row(
        "standard alphabet in signature",
        "signature segment with `/`",
        bearer(&format!(
            "{ed_input}.{}",
            ed_sig.replacen(|ch: char| ch.is_ascii_alphabetic(), "/", 1)
        )),
        InvalidToken(FORMAT),
        "RFC 7515 §2",
    );
    c.row(
        "header not JSON",
        "header segment `not json`",
        bearer(&format!("{}.{rsa_p}.{rsa_sig}", b64(b"not json"))),
        InvalidToken(FORMAT),
        "RFC 7515 §5.2 step 3",
    );
    c.row(
        "header a JSON array",
        "header `[1,2]`",
        bearer(&format!("{}.{rsa_p}.{rsa_sig}", b64(b"[1,2]"))),
        InvalidToken(FORMAT),
        "RFC 7515 §5.2 step 3",
    );
    c.row(
        "header without alg",
        "header `{\"kid\":\"rsa-1\"}`",
        bearer(&format!("{}.{rsa_p}.{rsa_sig}", b64(br#"{"kid":"rsa-1"}"#))),
        InvalidToken(FORMAT),
        "RFC 7515 §4.1.1: alg is REQUIRED",
    );
    c.row(
        "alg not a string",
        "`alg: [\"RS256\"]`",
        bearer(&format!(
            "{}.{rsa_p}.{rsa_sig}",
            seg(&json!({"alg": ["RS256"], "kid": "rsa-1"}))
        )),
        InvalidToken(FORMAT),
        "RFC 7515 §4.1.1",
    );

    c.family("alg: none and symmetric confusion");
    for alg in ["none", "None", "NONE", "nOnE"] {
        c.row(
            "alg none",
            format!("`alg: {alg}`, signature removed (`<header>.<payload>.`)"),
            bearer(&format!(
                "{}.{rsa_p}.",
                seg(&json!({"alg": alg, "kid": "rsa-1"}))
            )),
            InvalidToken(FORMAT),
            "RFC 8725 §3.1, CVE-2015-9235: unsecured JWS never accepted",
        );
        c.row(
            "alg none, signature kept",
            format!("`alg: {alg}` header on a validly signed token"),
            bearer(&tokens::with_header(
                &valid_rsa,
                &json!({"alg": alg, "kid": "rsa-1"}),
            )),
            InvalidToken(ALG),
            "RFC 8725 §3.1: none is not on the allow-list",
        );
    }
    let pem = rsa_pub.to_pem().unwrap();
    let der = rsa_pub.to_der().unwrap();
    let n = rsa_pub.to_components().n;
    for (label, secret) in [
        ("PEM", pem.as_bytes()),
        ("DER", &der[..]),
        ("JWK modulus bytes", &n[..]),
    ] {
        c.row(
            "HS256 with the RSA public key",
            format!("HS256, HMAC key = the RSA public key as {label}, `kid: rsa-1`"),
            bearer(
                &HS256Key::from_bytes(secret)
                    .with_key_id("rsa-1")
                    .authenticate(cx.jwt_claims())
                    .unwrap(),
            ),
            InvalidToken(ALG),
            "RFC 8725 §2.1/§3.1 algorithm confusion, CVE-2016-10555, CVE-2015-9235",
        );
    }
    c.row(
        "HS384 with the RSA public key",
        "HS384, HMAC key = the RSA public key PEM",
        bearer(
            &HS384Key::from_bytes(pem.as_bytes())
                .with_key_id("rsa-1")
                .authenticate(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(ALG),
        "RFC 8725 §3.1",
    );
    c.row(
        "HS512 with the RSA public key",
        "HS512, HMAC key = the RSA public key PEM",
        bearer(
            &HS512Key::from_bytes(pem.as_bytes())
                .with_key_id("rsa-1")
                .authenticate(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(ALG),
        "RFC 8725 §3.1",
    );
    let ec_pem = k.es256.public_key().to_pem().unwrap();
    c.row(
        "HS256 with the EC public key",
        "HS256, HMAC key = the P-256 public key PEM, `kid: ec-1`",
        bearer(
            &HS256Key::from_bytes(ec_pem.as_bytes())
                .with_key_id("ec-1")
                .authenticate(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(ALG),
        "CVE-2024-33663 (python-jose), RFC 8725 §3.1",
    );
    c.row(
        "HS256 without kid",
        "HS256 keyed with the RSA PEM, no `kid`",
        bearer(
            &HS256Key::from_bytes(pem.as_bytes())
                .authenticate(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(ALG),
        "RFC 8725 §3.1",
    );
    for alg in [
        "ES512",
        "ES256K",
        "RS1",
        "Ed448",
        "ML-DSA-44",
        "PBES2-HS256+A128KW",
        "dir",
        "rs256",
        "RS256 ",
        "",
    ] {
        c.row(
            "algorithm off the allow-list",
            format!("`alg: \"{alg}\"` on a validly signed token"),
            bearer(&tokens::with_header(
                &valid_rsa,
                &json!({"alg": alg, "kid": "rsa-1"}),
            )),
            InvalidToken(ALG),
            "RFC 8725 §3.1/§3.2 allow-list; RFC 7515 §4.1.1 alg is case-sensitive",
        );
    }

    c.family("Key selection and algorithm pinning");
    c.row(
        "ES256 header on the RSA key",
        "an ES256 signature with `kid: rsa-1`",
        bearer(
            &ES256KeyPair::from_bytes(&k.es256.to_bytes())
                .unwrap()
                .with_key_id("rsa-1")
                .sign(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(MISMATCH),
        "RFC 8725 §3.1: the key fixes the algorithm",
    );
    c.row(
        "RS256 header on the EC key",
        "an RS256 signature with `kid: ec-1`",
        bearer(
            &RS256KeyPair::from_der(&rsa_der)
                .unwrap()
                .with_key_id("ec-1")
                .sign(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(MISMATCH),
        "RFC 8725 §3.1",
    );
    c.row(
        "EdDSA header on the EC key",
        "an EdDSA signature with `kid: ec-1`",
        bearer(&issuer_signed(
            r#"{"alg":"EdDSA","kid":"ec-1"}"#,
            &claims_text,
        )),
        InvalidToken(MISMATCH),
        "RFC 8725 §3.1",
    );
    c.row(
        "PS256 on a key whose JWK says RS256",
        "a PS256 signature by the RSA key, whose JWK has `alg: RS256`",
        bearer(
            &PS256KeyPair::from_der(&rsa_der)
                .unwrap()
                .with_key_id("rsa-1")
                .sign(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(MISMATCH),
        "RFC 7517 §4.4: the JWK alg restricts the key",
    );
    c.row(
        "RS512 on a key whose JWK says RS256",
        "an RS512 signature by the RSA key",
        bearer(
            &RS512KeyPair::from_der(&rsa_der)
                .unwrap()
                .with_key_id("rsa-1")
                .sign(cx.jwt_claims())
                .unwrap(),
        ),
        InvalidToken(MISMATCH),
        "RFC 7517 §4.4",
    );
    c.row(
        "ES256 header without kid, RSA signature",
        "`{\"alg\":\"ES256\"}` on an RS256-signed token",
        bearer(&tokens::with_header(&valid_rsa, &json!({"alg": "ES256"}))),
        InvalidToken(SIG),
        "RFC 8725 §3.1: alg picks only among keys of its type",
    );
    for (label, kid) in [
        ("unknown", "nope".to_owned()),
        ("empty", String::new()),
        ("path-like", "../../etc/passwd".to_owned()),
        ("SQL", "x' UNION SELECT 'secret' --".to_owned()),
        ("case-changed", "ED-1".to_owned()),
        ("with NUL", "ed-1\0".to_owned()),
        ("4 KB", "k".repeat(4 * 1024)),
    ] {
        c.row(
            "kid",
            format!("{label} `kid`, signed by the issuer's Ed25519 key"),
            bearer(&ed_header(
                &json!({"alg": "EdDSA", "kid": kid}),
                &cx.claims(),
            )),
            InvalidToken(KID),
            "RFC 7515 §4.1.4 (exact match); RFC 8725 §3.10: kid is only a map key, never a path or query",
        );
    }
    c.row(
        "kid of 10 KB",
        "a 10 KB `kid` (header over 8 KiB), issuer-signed",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "k".repeat(10 * 1024)}),
            &cx.claims(),
        )),
        InvalidToken(FORMAT),
        "resource limit: headers over 8 KiB are refused before any key lookup",
    );
    c.row(
        "kid not a string",
        "`kid: 1`",
        bearer(&ed_header(&json!({"alg": "EdDSA", "kid": 1}), &cx.claims())),
        InvalidToken(FORMAT),
        "RFC 7515 §4.1.4: kid is a string",
    );
    c.row(
        "kid an object",
        "`kid: {\"$ne\": null}` (NoSQL-injection shape)",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": {"$ne": null}}),
            &cx.claims(),
        )),
        InvalidToken(FORMAT),
        "RFC 7515 §4.1.4",
    );

    c.family("Signatures");
    c.row(
        "signature stripped",
        "`<header>.<payload>.`",
        bearer(&format!("{rsa_input}.")),
        InvalidToken(FORMAT),
        "CVE-2020-28042; RFC 7515 §5.2",
    );
    c.row(
        "signature truncated",
        "the RS256 signature minus 10 characters",
        bearer(&valid_rsa[..valid_rsa.len() - 10]),
        InvalidToken(SIG),
        "RFC 7515 §5.2 step 8",
    );
    c.row(
        "other key, same kid",
        "signed by another RSA key under `kid: rsa-1`",
        bearer(&k.rsa_other.sign(cx.jwt_claims()).unwrap()),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    c.row(
        "attacker Ed25519 key, issuer's kid",
        "signed by an attacker Ed25519 key under `kid: ed-1`",
        bearer(&sign_raw(&attacker, ED_HEADER, &claims_text)),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    let other_ed = ed(&cx.claims_with(json!({"sub": "someone_else"})));
    c.row(
        "signature transplanted",
        "header and payload of one token with the signature of another",
        bearer(&format!(
            "{ed_h}.{}.{ed_sig}",
            other_ed.split('.').nth(1).unwrap()
        )),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    c.row(
        "payload changed after signing",
        "`sub` changed to `admin` in a signed RS256 token",
        bearer(&format!(
            "{rsa_h}.{}.{rsa_sig}",
            seg(&cx.claims_with(json!({"sub": "admin"})))
        )),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    c.row(
        "payload changed: exp extended",
        "`exp` pushed a year ahead in a signed EdDSA token",
        bearer(&format!(
            "{ed_h}.{}.{ed_sig}",
            seg(&cx.claims_with(json!({"exp": cx.now + 365 * 86400})))
        )),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    c.row(
        "header changed after signing",
        "a member added to the header of a signed token",
        bearer(&tokens::with_header(
            &valid_rsa,
            &json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT", "x": 1}),
        )),
        InvalidToken(SIG),
        "RFC 7515 §5.2: the signature covers the encoded header",
    );
    c.row(
        "header alg renamed after signing",
        "`EdDSA` renamed to `Ed25519` in a signed token's header",
        bearer(&format!(
            "{}.{ed_p}.{ed_sig}",
            seg(&json!({"alg": "Ed25519", "typ": "JWT", "kid": "ed-1"}))
        )),
        InvalidToken(SIG),
        "RFC 7515 §5.2",
    );
    let n_bytes = hex(P256_N);
    let mut n_plus_1 = n_bytes.clone();
    n_plus_1[31] += 1;
    let es_r = &es_sig[..32];
    for (label, sig) in [
        ("r = s = 0 (CVE-2022-21449)", vec![0u8; 64]),
        ("r = s = n", [n_bytes.clone(), n_bytes.clone()].concat()),
        (
            "r = s = n + 1",
            [n_plus_1.clone(), n_plus_1.clone()].concat(),
        ),
        ("valid r, s = 0", [es_r.to_vec(), vec![0; 32]].concat()),
        ("valid r, s = n", [es_r.to_vec(), n_bytes.clone()].concat()),
        (
            "r = 0, valid s",
            [vec![0; 32], es_sig[32..].to_vec()].concat(),
        ),
        ("all 0xFF", vec![0xff; 64]),
        ("63 bytes", es_sig[..63].to_vec()),
        ("65 bytes", [es_sig.clone(), vec![0]].concat()),
        (
            "96 bytes (P-384 size)",
            [es_sig.clone(), vec![0; 32]].concat(),
        ),
        ("a single zero byte", vec![0]),
        ("DER instead of P1363", der_signature(&es_sig)),
    ] {
        c.row(
            "ECDSA signature value",
            format!("ES256 token, signature {label}"),
            bearer(&with_sig(&valid_es, &sig)),
            InvalidToken(SIG),
            "CVE-2022-21449 (psychic signatures); RFC 7518 §3.4: 64-byte r‖s, 0 < r, s < n",
        );
    }
    let ed_sig_bytes = unb64(ed_sig);
    let malleable = [
        ed_sig_bytes[..32].to_vec(),
        add_le(&ed_sig_bytes[32..], &hex(ED25519_L_LE)),
    ]
    .concat();
    for (label, sig) in [
        ("S + L (non-canonical twin of a valid signature)", malleable),
        ("all zero", vec![0u8; 64]),
        ("63 bytes", ed_sig_bytes[..63].to_vec()),
    ] {
        c.row(
            "Ed25519 signature value",
            format!("EdDSA token, signature {label}"),
            bearer(&with_sig(&valid_ed, &sig)),
            InvalidToken(SIG),
            "RFC 8032 §5.1.7: S must be < L (no malleability)",
        );
    }
    let modulus = rsa_pub.to_components().n;
    let rsa_sig_bytes = unb64(rsa_sig);
    for (label, sig) in [
        ("all zero", vec![0u8; 256]),
        ("all 0xFF", vec![0xffu8; 256]),
        ("= the modulus n", modulus.clone()),
        ("= 1", vec![1u8]),
        (
            "valid with a leading zero byte",
            [vec![0u8], rsa_sig_bytes.clone()].concat(),
        ),
    ] {
        c.row(
            "RSA signature value",
            format!("RS256 token, signature {label}"),
            bearer(&with_sig(&valid_rsa, &sig)),
            InvalidToken(SIG),
            "RFC 8017 §8.2.2: signature length = modulus length, 0 ≤ s < n",
        );
    }

    c.family("Embedded keys and key URLs in the header");
    c.row(
        "embedded jwk, issuer's kid",
        "attacker-signed, `jwk` = the attacker's public key, `kid: ed-1`",
        bearer(&sign_raw(&attacker, &json!({"alg": "EdDSA", "kid": "ed-1", "jwk": attacker_jwk}).to_string(), &claims_text)),
        InvalidToken(FORMAT),
        "RFC 8725 §3.10, CVE-2018-0114: keys in the token are never trusted; a `jwk` object is refused with the header, before any key lookup",
    );
    c.row(
        "embedded jwk as a string",
        "attacker-signed, `jwk` = the attacker's JWK as a JSON string, `kid: ed-1`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "kid": "ed-1", "jwk": attacker_jwk.to_string()}).to_string(),
            &claims_text,
        )),
        InvalidToken(SIG),
        "CVE-2018-0114: ignored, the issuer's key decides",
    );
    c.row(
        "embedded jwk, no kid",
        "attacker-signed, `jwk` = the attacker's public key, no `kid`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "jwk": attacker_jwk}).to_string(),
            &claims_text,
        )),
        InvalidToken(FORMAT),
        "CVE-2018-0114",
    );
    c.row(
        "embedded jwk, attacker kid",
        "attacker-signed, `jwk` (as a string) and `kid: atk-1`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "kid": "atk-1", "jwk": attacker_jwk.to_string()}).to_string(),
            &claims_text,
        )),
        InvalidToken(KID),
        "CVE-2018-0114",
    );
    c.row(
        "jku to attacker keys",
        "attacker-signed, `jku` = a URL serving the attacker's JWKS, `kid: atk-1`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "kid": "atk-1", "jku": cx.attacker_jwks}).to_string(),
            &claims_text,
        )),
        InvalidToken(KID),
        "RFC 8725 §3.10: jku is never fetched (checked: 0 hits)",
    );
    c.row(
        "jku with the issuer's kid",
        "attacker-signed, `jku` = the attacker's JWKS, `kid: ed-1`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "kid": "ed-1", "jku": cx.attacker_jwks}).to_string(),
            &claims_text,
        )),
        InvalidToken(SIG),
        "RFC 8725 §3.10",
    );
    c.row(
        "x5u to an attacker certificate",
        "attacker-signed, `x5u` = an attacker URL, `kid: ed-1`",
        bearer(&sign_raw(
            &attacker,
            &json!({"alg": "EdDSA", "kid": "ed-1", "x5u": cx.attacker_cert}).to_string(),
            &claims_text,
        )),
        InvalidToken(SIG),
        "RFC 8725 §3.10: x5u is never fetched (checked: 0 hits)",
    );
    c.row(
        "x5c with an attacker key",
        "attacker-signed, `x5c` = [the attacker's public key], `kid: ed-1`",
        bearer(&sign_raw(&attacker, &json!({"alg": "EdDSA", "kid": "ed-1", "x5c": [b64(&attacker.public_key().to_bytes())]}).to_string(), &claims_text)),
        InvalidToken(SIG),
        "RFC 8725 §3.10: x5c is never used",
    );
    c.row(
        "RSA token with jku and x5u",
        "signed by another RSA key under `kid: rsa-1` with `jku` and `x5u` set",
        bearer(&{
            let mut other = RS256KeyPair::from_der(&k.rsa_other.to_der().unwrap())
                .unwrap()
                .with_key_id("rsa-1");
            other
                .attach_metadata(
                    KeyMetadata::default()
                        .with_key_set_url(&cx.attacker_jwks)
                        .with_certificate_url(&cx.attacker_cert),
                )
                .unwrap();
            other.sign(cx.jwt_claims()).unwrap()
        }),
        InvalidToken(SIG),
        "RFC 8725 §3.10",
    );

    c.family("Other header parameters");
    for (label, crit) in [
        ("[\"exp\"]", json!(["exp"])),
        ("[] (forbidden empty list)", json!([])),
    ] {
        c.row(
            "crit",
            format!("`crit: {label}` on an issuer-signed token"),
            bearer(&ed_header(
                &json!({"alg": "EdDSA", "kid": "ed-1", "crit": crit}),
                &cx.claims(),
            )),
            InvalidToken(CRIT),
            "RFC 7515 §4.1.11: unknown critical extensions MUST be refused",
        );
    }
    c.row(
        "b64: false",
        "`b64: false, crit: [\"b64\"]` (RFC 7797 unencoded payload)",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "ed-1", "b64": false, "crit": ["b64"]}),
            &cx.claims(),
        )),
        InvalidToken(CRIT),
        "RFC 7797 §6: not supported, so refused through crit",
    );
    for typ in ["logout+jwt", "secevent+jwt", "dpop+jwt", "JOSE"] {
        c.row(
            "typ of another kind of JWT",
            format!("`typ: {typ}` on an issuer-signed token"),
            bearer(&ed_header(
                &json!({"alg": "EdDSA", "kid": "ed-1", "typ": typ}),
                &cx.claims(),
            )),
            InvalidToken(TYPE),
            "RFC 8725 §3.11 explicit typing (cross-JWT confusion); RFC 9068 §4",
        );
    }
    c.row(
        "typ not a string",
        "`typ: 1`",
        bearer(&ed_header(
            &json!({"alg": "EdDSA", "kid": "ed-1", "typ": 1}),
            &cx.claims(),
        )),
        InvalidToken(FORMAT),
        "RFC 7515 §4.1.9",
    );
    c.row(
        "cty: JWT (nested token)",
        "`cty: JWT` with a whole signed token as the payload",
        bearer(&issuer_signed(
            r#"{"alg":"EdDSA","kid":"ed-1","cty":"JWT"}"#,
            &format!("\"{valid_ed}\""),
        )),
        InvalidToken(CLAIMS),
        "RFC 7519 §5.2: nested JWTs are not unwrapped",
    );

    c.family("JSON parsing: duplicates, depth, numbers");
    for (label, header) in [
        (
            "alg (EdDSA, then none)",
            r#"{"alg":"EdDSA","alg":"none","kid":"ed-1"}"#,
        ),
        ("kid", r#"{"alg":"EdDSA","kid":"ed-1","kid":"rsa-1"}"#),
        (
            "typ",
            r#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT","typ":"JWT"}"#,
        ),
        (
            "unknown member `x`",
            r#"{"alg":"EdDSA","kid":"ed-1","x":1,"x":2}"#,
        ),
    ] {
        c.row(
            "duplicate header member",
            format!("issuer-signed, header with a duplicate {label}"),
            bearer(&issuer_signed(header, &claims_text)),
            InvalidToken(FORMAT),
            "RFC 7515 §5.2: refused, not last-wins",
        );
    }
    for (label, rest) in [
        (
            "exp (valid, then expired)",
            format!(r#""exp":{},"exp":{}"#, cx.exp(), cx.now - 3600),
        ),
        ("sub", format!(r#""exp":{},"sub":"admin""#, cx.exp())),
        (
            "iss",
            format!(r#""exp":{},"iss":"https://evil.example""#, cx.exp()),
        ),
        (
            "custom claim `role`",
            format!(r#""exp":{},"role":"user","role":"admin""#, cx.exp()),
        ),
        (
            "member of a nested object",
            format!(r#""exp":{},"act":{{"sub":"a","sub":"b"}}"#, cx.exp()),
        ),
    ] {
        c.row(
            "duplicate claim",
            format!("issuer-signed, claims with a duplicate {label}"),
            bearer(&issuer_signed(ED_HEADER, &cx.claims_raw(&rest))),
            InvalidToken(CLAIMS),
            "RFC 7519 §4: refused, so no parser downstream can read another value",
        );
    }
    c.row(
        "header depth bomb",
        "issuer-signed, header member nested 5000 arrays deep",
        bearer(&issuer_signed(
            &format!(r#"{{"alg":"EdDSA","kid":"ed-1","x":{}}}"#, deep(5000)),
            &claims_text,
        )),
        InvalidToken(FORMAT),
        "bounded recursion (serde_json limit 128): no stack overflow",
    );
    c.row(
        "claims depth bomb",
        "issuer-signed, claim nested 5000 arrays deep",
        bearer(&issuer_signed(
            ED_HEADER,
            &cx.claims_raw(&format!(r#""exp":{},"x":{}"#, cx.exp(), deep(5000))),
        )),
        InvalidToken(CLAIMS),
        "bounded recursion",
    );
    c.row(
        "huge number in a claim",
        "issuer-signed, `\"x\": 1e400`",
        bearer(&issuer_signed(
            ED_HEADER,
            &cx.claims_raw(&format!(r#""exp":{},"x":1e400"#, cx.exp())),
        )),
        InvalidToken(CLAIMS),
        "RFC 8259 §6: numbers beyond IEEE 754 double are refused",
    );
    c.row(
        "claims not JSON",
        "issuer-signed, payload `hello`",
        bearer(&issuer_signed(ED_HEADER, "hello")),
        InvalidToken(CLAIMS),
        "RFC 7519 §7.2 step 10",
    );
    c.row(
        "claims a JSON array",
        "issuer-signed, payload `[]`",
        bearer(&issuer_signed(ED_HEADER, "[]")),
        InvalidToken(CLAIMS),
        "RFC 7519 §7.2",
    );
    c.row(
        "claims null",
        "issuer-signed, payload `null`",
        bearer(&issuer_signed(ED_HEADER, "null")),
        InvalidToken(CLAIMS),
        "RFC 7519 §7.2",
    );
    c.row(
        "trailing bytes after the claims",
        "issuer-signed, valid claims followed by `x`",
        bearer(&issuer_signed(ED_HEADER, &format!("{claims_text}x"))),
        InvalidToken(CLAIMS),
        "RFC 7519 §7.2",
    );

    c.family("Lifetime");
    let lifetime = |c: &mut Catalogue,
                    name: &'static str,
                    what: &str,
                    rest: String,
                    outcome: Outcome,
                    why: &'static str| {
        c.row(
            name,
            what,
            bearer(&issuer_signed(ED_HEADER, &cx.claims_raw(&rest))),
            outcome,
            why,
        );
    };
    lifetime(
        &mut c,
        "expired",
        "`exp` an hour ago",
        format!(r#""exp":{}"#, cx.now - 3600),
        InvalidToken(EXPIRED),
        "RFC 7519 §4.1.4; MCP: expired → 401",
    );
    lifetime(
        &mut c,
        "expired beyond leeway",
        "`exp` 61 s ago (leeway 60 s)",
        format!(r#""exp":{}"#, cx.now - 61),
        InvalidToken(EXPIRED),
        "RFC 7519 §4.1.4",
    );
    lifetime(
        &mut c,
        "exp zero",
        "`exp: 0`",
        r#""exp":0"#.to_owned(),
        InvalidToken(EXPIRED),
        "RFC 7519 §4.1.4",
    );
    c.row(
        "missing exp",
        "no `exp`",
        bearer(&ed(&cx.claims_with(json!({"exp": null})))),
        InvalidToken(NO_EXP),
        "RFC 9068 §2.2: exp is REQUIRED in access tokens",
    );
    lifetime(
        &mut c,
        "exp null",
        "`exp: null`",
        r#""exp":null"#.to_owned(),
        InvalidToken(CLAIMS),
        "RFC 7519 §2: NumericDate is a number",
    );
    lifetime(
        &mut c,
        "exp as a string",
        "`exp: \"<now+300>\"`",
        format!(r#""exp":"{}""#, cx.exp()),
        InvalidToken(CLAIMS),
        "RFC 7519 §2 NumericDate is a JSON number",
    );
    lifetime(
        &mut c,
        "exp boolean",
        "`exp: true`",
        r#""exp":true"#.to_owned(),
        InvalidToken(CLAIMS),
        "RFC 7519 §2",
    );
    for (label, value) in [
        ("1e400", "1e400"),
        ("1.8e308", "1.8e308"),
        ("1.7e308", "1.7e308"),
        ("2^64", "18446744073709551616"),
        ("1e12 (year 33658)", "1e12"),
    ] {
        lifetime(
            &mut c,
            "exp overflow",
            &format!("`exp: {label}`"),
            format!(r#""exp":{value}"#),
            InvalidToken(CLAIMS),
            "a date past year 9999 or beyond f64 is an encoding error, never \"valid forever\"",
        );
    }
    lifetime(
        &mut c,
        "exp negative",
        "`exp: -1`",
        r#""exp":-1"#.to_owned(),
        InvalidToken(CLAIMS),
        "RFC 7519 §2: NumericDate counts from the epoch",
    );
    lifetime(
        &mut c,
        "not yet valid",
        "`nbf` an hour ahead",
        format!(r#""exp":{},"nbf":{}"#, cx.exp(), cx.now + 3600),
        InvalidToken(NOT_YET),
        "RFC 7519 §4.1.5",
    );
    c.row(
        "issued in the future",
        "`iat` an hour ahead",
        bearer(&ed(&cx.claims_with(json!({"iat": cx.now + 3600})))),
        InvalidToken(NOT_YET),
        "RFC 7519 §4.1.6: a token from the future is refused",
    );
    lifetime(
        &mut c,
        "nbf overflow",
        "`nbf: 1e400`",
        format!(r#""exp":{},"nbf":1e400"#, cx.exp()),
        InvalidToken(CLAIMS),
        "RFC 8259 §6",
    );

    c.family("Issuer");
    let issuer = |c: &mut Catalogue, what: String, iss: Value, outcome: Outcome| {
        c.row(
            "issuer",
            what,
            bearer(&ed(&cx.claims_with(json!({"iss": iss})))),
            outcome,
            "RFC 9068 §4 / RFC 8414 §2: iss equals the configured issuer exactly",
        );
    };
    issuer(
        &mut c,
        "`iss: https://evil.example`".into(),
        json!("https://evil.example"),
        InvalidToken(ISSUER),
    );
    issuer(
        &mut c,
        "`iss` with a trailing slash".into(),
        json!(format!("{}/", cx.iss)),
        InvalidToken(ISSUER),
    );
    issuer(
        &mut c,
        "`iss` with `localhost` for `127.0.0.1`".into(),
        json!(cx.iss.replace("127.0.0.1", "localhost")),
        InvalidToken(ISSUER),
    );
    issuer(
        &mut c,
        "`iss` upper-case scheme".into(),
        json!(cx.iss.replace("http", "HTTP")),
        InvalidToken(ISSUER),
    );
    issuer(
        &mut c,
        "`iss` with a trailing NUL".into(),
        json!(format!("{}\0", cx.iss)),
        InvalidToken(ISSUER),
    );
    issuer(
        &mut c,
        "`iss: \"\"`".into(),
        json!(""),
        InvalidToken(ISSUER),
    );
    c.row(
        "issuer",
        "no `iss`",
        bearer(&ed(&cx.claims_with(json!({"iss": null})))),
        InvalidToken(ISSUER),
        "RFC 9068 §2.2: iss is REQUIRED",
    );
    issuer(
        &mut c,
        "`iss` as an array `[<issuer>]`".into(),
        json!([cx.iss]),
        InvalidToken(CLAIMS),
    );

    c.family("Audience");
    let audience = |c: &mut Catalogue, what: &str, aud: Value, outcome: Outcome| {
        c.row("audience", what.to_owned(), bearer(&ed(&cx.claims_with(json!({"aud": aud})))), outcome, "RFC 8707 / RFC 9068 §4: aud must contain this resource (MCP: tokens for other servers are refused)");
    };
    audience(
        &mut c,
        "`aud: https://other.example`",
        json!("https://other.example"),
        InvalidToken(AUD),
    );
    audience(
        &mut c,
        "`aud: [\"a\", \"b\"]` without ours",
        json!(["a", "b"]),
        InvalidToken(AUD),
    );
    audience(&mut c, "`aud: []`", json!([]), InvalidToken(AUD));
    audience(
        &mut c,
        "`aud` with a trailing slash",
        json!(format!("{AUDIENCE}/")),
        InvalidToken(AUD),
    );
    audience(
        &mut c,
        "`aud` as a prefix of ours",
        json!("https://mcp.test"),
        InvalidToken(AUD),
    );
    audience(
        &mut c,
        "`aud` upper-cased",
        json!(AUDIENCE.to_uppercase()),
        InvalidToken(AUD),
    );
    audience(&mut c, "`aud: 42`", json!(42), InvalidToken(CLAIMS));
    audience(
        &mut c,
        "`aud: [<ours>, 42]`",
        json!([AUDIENCE, 42]),
        InvalidToken(CLAIMS),
    );
    c.row(
        "audience",
        "no `aud`",
        bearer(&ed(&cx.claims_with(json!({"aud": null})))),
        InvalidToken(AUD),
        "RFC 9068 §2.2: aud is REQUIRED",
    );

    // Sent to the server with authkit_required_scopes = mcp:tools.
    c.family("Scopes");
    let scoped = |claims: Value| bearer(&ed(&claims)).scoped();
    c.row(
        "control: scope granted",
        "`scope: \"openid mcp:tools\"`",
        scoped(cx.claims_with(json!({"scope": "openid mcp:tools"}))),
        Gateway,
        "RFC 9068 §2.2.3",
    );
    c.row(
        "control: scp array",
        "`scp: [\"mcp:tools\"]`",
        scoped(cx.claims_with(json!({"scp": ["mcp:tools"]}))),
        Gateway,
        "common provider form (Okta, Entra)",
    );
    c.row(
        "scope missing",
        "no `scope`",
        scoped(cx.claims()),
        InsufficientScope,
        "RFC 6750 §3.1; MCP scope challenge",
    );
    c.row(
        "scope prefix",
        "`scope: \"mcp:toolsX\"`",
        scoped(cx.claims_with(json!({"scope": "mcp:toolsX"}))),
        InsufficientScope,
        "RFC 6749 §3.3: scopes are exact strings",
    );
    c.row(
        "scope case",
        "`scope: \"MCP:TOOLS\"`",
        scoped(cx.claims_with(json!({"scope": "MCP:TOOLS"}))),
        InsufficientScope,
        "RFC 6749 §3.3: case-sensitive",
    );
    c.row(
        "scope tab-separated",
        "`scope: \"openid\\tmcp:tools\"`",
        scoped(cx.claims_with(json!({"scope": "openid\tmcp:tools"}))),
        InsufficientScope,
        "RFC 6749 §3.3: separated by spaces only",
    );
    c.row(
        "control: scope as an array",
        "`scope: [\"mcp:tools\"]`",
        scoped(cx.claims_with(json!({"scope": ["mcp:tools"]}))),
        Gateway,
        "issued by several providers; each item one scope",
    );
    c.row(
        "scope array, scope missing",
        "`scope: [\"openid mcp:tools\"]` (one item with a space)",
        scoped(cx.claims_with(json!({"scope": ["openid mcp:tools"]}))),
        InsufficientScope,
        "an array item is one scope, never split",
    );
    c.row(
        "scope of another type",
        "`scope: {\"mcp:tools\": true}`",
        scoped(cx.claims_with(json!({"scope": {"mcp:tools": true}}))),
        InvalidToken(CLAIMS),
        "neither a string nor an array of strings",
    );
    c.row(
        "scoped: expired token",
        "an expired token carrying the scope",
        scoped(cx.claims_with(json!({"scope": "mcp:tools", "exp": cx.now - 3600}))),
        InvalidToken(EXPIRED),
        "401 (not 403) and the challenge names the scope (MCP)",
    );

    c.family("Routing around the check");
    c.row(
        "CORS preflight carrying a body",
        "`OPTIONS /mcp` with `Access-Control-Request-Method` and a JSON-RPC body, no token",
        Request::mcp(&[])
            .method("OPTIONS")
            .header("Access-Control-Request-Method", b"POST")
            .header("Origin", b"http://localhost:6274"),
        Middleware(204),
        "Fetch standard CORS preflight: answered by the middleware, never forwarded",
    );
    c.row(
        "CORS preflight from a foreign origin",
        "as above with `Origin: http://evil.example`",
        Request::mcp(&[])
            .method("OPTIONS")
            .header("Access-Control-Request-Method", b"POST")
            .header("Origin", b"http://evil.example"),
        Middleware(403),
        "MCP Streamable HTTP (Security Warning): Origin validated before anything else",
    );
    c.row(
        "valid token from a foreign origin",
        "a valid token, `Origin: https://evil.example` (a web page, or DNS rebinding)",
        bearer(&valid_rsa).header("Origin", b"https://evil.example"),
        Middleware(403),
        "MCP Streamable HTTP: servers MUST validate Origin",
    );
    c.row(
        "OPTIONS without preflight header",
        "`OPTIONS /mcp`, no token",
        Request::mcp(&[]).method("OPTIONS"),
        NoCredentials(NO_HEADER),
        "only real preflights skip authentication",
    );
    c.row(
        "GET without token",
        "`GET /mcp` (SSE stream), no token",
        Request::mcp(&[]).method("GET").body(b""),
        NoCredentials(NO_HEADER),
        "RFC 6750 §3.1",
    );
    c.row(
        "method override header",
        "`POST` with `X-HTTP-Method-Override: OPTIONS`, no token",
        Request::mcp(&[])
            .header("X-HTTP-Method-Override", b"OPTIONS")
            .header("Access-Control-Request-Method", b"POST"),
        NoCredentials(NO_HEADER),
        "only the real method counts",
    );
    c.row(
        "POST to the metadata path",
        "`POST /.well-known/oauth-protected-resource/mcp` with a JSON-RPC body, no token",
        Request::mcp(&[]).target("/.well-known/oauth-protected-resource/mcp"),
        Middleware(405),
        "RFC 9728 §3: GET only; answered by the middleware, never forwarded",
    );
    c.row(
        "dot segments out of the public path",
        "`POST /.well-known/oauth-protected-resource/../../mcp`, no token",
        Request::mcp(&[]).target("/.well-known/oauth-protected-resource/../../mcp"),
        NoCredentials(NO_HEADER),
        "RFC 3986 §5.2.4: the path is normalized before it is classified",
    );
    c.row(
        "dot segments into the public path",
        "`GET /mcp/../.well-known/oauth-protected-resource`, no token",
        Request::mcp(&[])
            .method("GET")
            .body(b"")
            .target("/mcp/../.well-known/oauth-protected-resource"),
        Middleware(200),
        "RFC 3986 §5.2.4; the metadata is served by the middleware, never forwarded",
    );
    c.row(
        "encoded slash in the public path",
        "`POST /.well-known/oauth-protected-resource%2F..%2Fmcp`, no token",
        Request::mcp(&[])
            .target("/.well-known/oauth-protected-resource%2F..%2Fmcp")
            .resource_path("/.well-known/oauth-protected-resource%2F..%2Fmcp"),
        NoCredentials(NO_HEADER),
        "RFC 3986 §2.2: %2F is data, not a separator",
    );
    c.row(
        "public-path prefix",
        "`POST /.well-known/oauth-protected-resourceX`, no token",
        Request::mcp(&[])
            .target("/.well-known/oauth-protected-resourceX")
            .resource_path("/.well-known/oauth-protected-resourceX"),
        NoCredentials(NO_HEADER),
        "RFC 9728 §3.1: exact well-known path",
    );

    c.rows
}

pub fn markdown(attacks: &[Attack]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let over_http = end_to_end(attacks);
    let mut out = String::from(
        "| # | family | attack | what is sent | outcome (status + error) | why | over HTTP |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for (i, a) in attacks.iter().enumerate() {
        let server = if a.request.server == Server::Scoped {
            " (scoped server)"
        } else {
            ""
        };
        let http = if over_http.iter().any(|b| std::ptr::eq(*b, a)) {
            "yes"
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {} | {} | {}{server} | {} | {} | {http} |\n",
            i + 1,
            cell(a.family),
            cell(a.name),
            cell(&a.what),
            cell(&a.outcome.markdown()),
            cell(a.why)
        ));
    }
    out
}
