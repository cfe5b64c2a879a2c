//! The shipped Spin manifests: the production `spin.toml` grants
//! no loopback outbound host and requires `authkit_resource`; local development
//! gets both from `spin.dev.toml`, which says it is not for deployment. Both pass
//! every `authkit_*` variable they declare to the component.

use std::path::Path;

fn manifest(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of the first line `key = ...` (outside comments).
fn setting<'a>(toml: &'a str, key: &str) -> &'a str {
    toml.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key)?.trim_start().strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
}

const LOOPBACK: [&str; 4] = ["127.", "localhost", "[::1]", "0.0.0.0"];

#[test]
fn production_manifest_has_no_loopback_hosts_and_requires_the_resource() {
    let toml = manifest("spin.toml");
    let hosts = setting(&toml, "allowed_outbound_hosts");
    assert!(!LOOPBACK.iter().any(|l| hosts.contains(l)), "{hosts}");
    assert_eq!(setting(&toml, "authkit_resource"), "{ required = true }");
    assert_eq!(setting(&toml, "key_value_stores"), "[\"default\"]");
}

#[test]
fn development_manifest_adds_loopback_and_says_what_it_is() {
    let toml = manifest("spin.dev.toml");
    assert!(toml.starts_with("# DEVELOPMENT ONLY"));
    let hosts = setting(&toml, "allowed_outbound_hosts");
    assert!(hosts.contains("http://127.0.0.1:*"), "{hosts}");
}

#[test]
fn every_declared_variable_reaches_the_component() {
    for name in ["spin.toml", "spin.dev.toml"] {
        let toml = manifest(name);
        let declared: Vec<&str> = toml
            .lines()
            .filter_map(|l| l.split_once(" = {").map(|(n, _)| n.trim()))
            .filter(|n| n.starts_with("authkit_"))
            .collect();
        assert!(declared.len() >= 10, "{name}: {declared:?}");
        for var in declared {
            let passed = format!("{var} = \"{{{{ {var} }}}}\"");
            assert!(
                toml.contains(&passed),
                "{name}: {var} is declared but not passed"
            );
        }
    }
}
