use super::*;
use crate::cache::Store;
use crate::test_support::MemoryStore;

const NOW: u64 = 1_700_000_000;
const KEYS: [u8; 32] = [7; 32];

fn proof(token: &str) -> Proof {
    Proof::new(&KEYS, token)
}

#[test]
fn a_recorded_proof_is_found_by_a_later_request() {
    let mut store = MemoryStore::default();
    VerifiedSignatures::new(&mut store, NOW).insert(&proof("a.b.c"), NOW + 3600);
    assert!(VerifiedSignatures::new(&mut store, NOW + 1).contains(&proof("a.b.c")));
}

#[test]
fn another_token_or_key_set_misses() {
    let mut store = MemoryStore::default();
    let mut signatures = VerifiedSignatures::new(&mut store, NOW);
    signatures.insert(&proof("a.b.c"), NOW + 3600);
    assert!(!signatures.contains(&proof("a.b.d")));
    assert!(!signatures.contains(&Proof::new(&[8; 32], "a.b.c")));
}

#[test]
fn the_proof_covers_every_byte_of_keys_and_token() {
    assert_ne!(Proof::new(&KEYS, "ab.c"), Proof::new(&KEYS, "a.bc"));
    let mut other = KEYS;
    other[31] ^= 1;
    assert_ne!(Proof::new(&KEYS, "a.b.c"), Proof::new(&other, "a.b.c"));
}

#[test]
fn long_expired_entries_no_longer_count_and_are_dropped() {
    let mut store = MemoryStore::default();
    let expires_at = NOW + 10;
    VerifiedSignatures::new(&mut store, NOW).insert(&proof("old"), expires_at);
    let later = expires_at + EXPIRY_GRACE + 1;
    assert!(VerifiedSignatures::new(&mut store, expires_at + EXPIRY_GRACE).contains(&proof("old")));
    assert!(!VerifiedSignatures::new(&mut store, later).contains(&proof("old")));

    // Writing to the same bucket again prunes it.
    let bucket = proof("old").bucket_key();
    let same_bucket = (0..)
        .map(|i| format!("t{i}"))
        .find(|t| proof(t).bucket_key() == bucket)
        .unwrap();
    VerifiedSignatures::new(&mut store, later).insert(&proof(&same_bucket), later + 3600);
    let stored = store.get(&bucket).unwrap();
    assert_eq!(entries(&stored).count(), 1);
}

#[test]
fn buckets_are_bounded_and_keep_the_newest() {
    let mut store = MemoryStore::default();
    let mut signatures = VerifiedSignatures::new(&mut store, NOW);
    let bucket = proof("t0").bucket_key();
    let tokens: Vec<String> = (0..)
        .map(|i| format!("t{i}"))
        .filter(|t| proof(t).bucket_key() == bucket)
        .take(BUCKET_CAPACITY + 3)
        .collect();
    for token in &tokens {
        signatures.insert(&proof(token), NOW + 3600);
    }
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(signatures.contains(&proof(token)), i >= 3, "token {i}");
    }
    assert_eq!(
        entries(&store.get(&bucket).unwrap()).count(),
        BUCKET_CAPACITY
    );
}

#[test]
fn recording_twice_keeps_one_entry() {
    let mut store = MemoryStore::default();
    let mut signatures = VerifiedSignatures::new(&mut store, NOW);
    signatures.insert(&proof("a.b.c"), NOW + 3600);
    signatures.insert(&proof("a.b.c"), NOW + 3600);
    let stored = store.get(&proof("a.b.c").bucket_key()).unwrap();
    assert_eq!(entries(&stored).count(), 1);
}

#[test]
fn foreign_or_garbled_buckets_read_as_empty() {
    let mut store = MemoryStore::default();
    let key = proof("a.b.c").bucket_key();
    let hex = proof("a.b.c").hex();
    for garbage in [
        format!("{hex} 99999999999"),                          // no magic line
        format!("{BUCKET_MAGIC}{} 99999999999\n", &hex[..63]), // short proof
        format!("{BUCKET_MAGIC}{hex} soon\n"),                 // bad expiry
        format!("{BUCKET_MAGIC}{hex}\n"),                      // no expiry
    ] {
        store.set(&key, garbage.as_bytes());
        assert!(
            !VerifiedSignatures::new(&mut store, NOW).contains(&proof("a.b.c")),
            "{garbage}"
        );
    }
    store.set(&key, &[0xff, 0xfe]);
    assert!(!VerifiedSignatures::new(&mut store, NOW).contains(&proof("a.b.c")));
}

#[test]
fn constant_time_eq_compares_whole_values() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

/// 100,000 distinct tokens leave at most [`BUCKETS`] keys of [`BUCKET_CAPACITY`]
/// entries: the store a flood of fresh tokens can fill stays bounded.
#[test]
fn a_hundred_thousand_tokens_stay_bounded() {
    let mut store = MemoryStore::default();
    let mut signatures = VerifiedSignatures::new(&mut store, NOW);
    for i in 0..100_000 {
        signatures.insert(&proof(&format!("token-{i}")), NOW + 3600);
    }
    assert_eq!(store.0.len(), BUCKETS);
    let stored: usize = store.0.values().map(|bucket| entries(bucket).count()).sum();
    assert_eq!(stored, BUCKETS * BUCKET_CAPACITY);
    let bytes: usize = store.0.values().map(Vec::len).sum();
    assert!(
        bytes <= BUCKETS * (BUCKET_MAGIC.len() + BUCKET_CAPACITY * 86),
        "{bytes} bytes"
    );
}
