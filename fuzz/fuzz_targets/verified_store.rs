//! The store of remembered signature checks (`verified`) with fuzzer-chosen bucket
//! bytes, tokens, expiries and times. Asserts: no panic; a proof is found only if
//! the stored bucket has its line (never from junk, a prefix or another proof);
//! what `insert` writes is found again until the token's expiry plus the grace,
//! keeps at most `BUCKET_CAPACITY` entries, and carries over only lines that were
//! in the bucket before.
#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wasmcp_spin_authkit::cache::Store;
use wasmcp_spin_authkit::verified::{Proof, VerifiedSignatures, BUCKET_CAPACITY};

#[derive(Arbitrary, Debug)]
struct Input {
    bucket: Option<Vec<u8>>,
    keys: [u8; 32],
    token: String,
    expires_at: u64,
    now: u64,
}

#[derive(Default)]
struct Memory(HashMap<String, Vec<u8>>);

impl Store for Memory {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
    fn set(&mut self, key: &str, value: &[u8]) {
        self.0.insert(key.to_owned(), value.to_vec());
    }
    fn update(&mut self, _: &str, _: wasmcp_spin_authkit::cache::Update<'_>) -> bool {
        unreachable!("remembered checks are plain writes")
    }
}

/// The proof's hash in hex, read back from its `Debug` form (`Proof([1, 2, ...])`).
fn hex(proof: &Proof) -> String {
    format!("{proof:?}")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|n| format!("{:02x}", n.parse::<u8>().unwrap()))
        .collect()
}

fn lines(bucket: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bucket)
        .lines()
        .map(str::to_owned)
        .collect()
}

fuzz_target!(|input: Input| {
    let proof = Proof::new(&input.keys, &input.token);
    let wanted = hex(&proof);
    assert_eq!(wanted.len(), 64);
    let key = format!("authkit/v2/verified/{}", &wanted[..2]);
    let now = input.now % (1 << 48);

    let mut store = Memory::default();
    assert!(!VerifiedSignatures::new(&mut store, now).contains(&proof));
    if let Some(bucket) = &input.bucket {
        store.0.insert(key.clone(), bucket.clone());
        if VerifiedSignatures::new(&mut store, now).contains(&proof) {
            assert!(
                lines(bucket)
                    .iter()
                    .any(|l| l.starts_with(&format!("{wanted} "))),
                "found a proof the bucket does not hold"
            );
        }
    }

    let before = store.0.get(&key).map(|b| lines(b)).unwrap_or_default();
    VerifiedSignatures::new(&mut store, now).insert(&proof, input.expires_at);
    let after = lines(store.0.get(&key).expect("bucket written"));
    assert!(after.len() <= 1 + BUCKET_CAPACITY, "{} lines", after.len());
    assert_eq!(
        after.last(),
        Some(&format!("{wanted} {}", input.expires_at))
    );
    for line in &after[1..after.len() - 1] {
        assert!(before.contains(line), "invented entry {line:?}");
    }
    let fresh = input.expires_at.saturating_add(600) >= now;
    assert_eq!(
        VerifiedSignatures::new(&mut store, now).contains(&proof),
        fresh
    );
    if fresh {
        let late = input.expires_at.saturating_add(601);
        if late < u64::MAX {
            assert!(!VerifiedSignatures::new(&mut store, late).contains(&proof));
        }
        // Another token (one byte more) is not covered by this proof.
        let other = Proof::new(&input.keys, &format!("{}.", input.token));
        let mut only = Memory::default();
        VerifiedSignatures::new(&mut only, now).insert(&proof, input.expires_at);
        assert!(!VerifiedSignatures::new(&mut only, now).contains(&other));
    }
});
