//! `authkit-host serve <component.wasm> [options]`: run a wasi:http component
//! like `spin up` would (see the library docs for what is provided), optionally
//! with a local development issuer (the issuer alone: `authkit-dev-issuer`).

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use authkit_dev_issuer::{self as dev_issuer, DevIssuer, MINTED_TOKEN_LIFETIME};
use authkit_host::{spin_variables_from_env, Host, HostConfig};

const USAGE: &str = "\
usage: authkit-host serve <component.wasm> [options]

serve options:
  --listen ADDR              address to listen on (default 127.0.0.1:3000)
  --var NAME=VALUE           a Spin variable (repeatable; wins over SPIN_VARIABLE_<NAME>)
  --key-value-store LABEL    grant a key-value store (repeatable; default: `default`)
  --no-key-value-store       grant no key-value store at all
  --allow-outbound PATTERN   allow outgoing requests matching PATTERN, e.g.
                             https://*.authkit.app or http://127.0.0.1:* (repeatable;
                             default: allow everything)
  --cache-dir DIR            keep compiled native code in DIR between runs
  --dev-issuer [ADDR]        also run the local DEVELOPMENT-ONLY OAuth issuer on ADDR
                             (loopback only; default 127.0.0.1:3001), set
                             authkit_issuer, authkit_jwks_uri and authkit_audience
                             (http://<listen>/mcp) to it unless given, and print a
                             bearer token and commands to try
  -h, --help                 show this help

The issuer alone (e.g. next to `spin up`): authkit-dev-issuer --help
";

struct ServeArgs {
    component: PathBuf,
    listen: SocketAddr,
    config: HostConfig,
    cache_dir: Option<PathBuf>,
    dev_issuer: Option<SocketAddr>,
}

enum Command {
    Help,
    Serve(ServeArgs),
}

fn default_dev_issuer() -> SocketAddr {
    dev_issuer::DEFAULT_LISTEN
        .parse()
        .expect("valid default address")
}

fn parse_addr(flag: &str, v: &str, example: &str) -> anyhow::Result<SocketAddr> {
    v.parse()
        .with_context(|| format!("`{flag} {v}`: expected e.g. {example}"))
}

fn parse_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
    let mut args = args.into_iter().peekable();
    match args.next().as_deref() {
        Some("serve") => {}
        Some("-h" | "--help" | "help") | None => return Ok(Command::Help),
        Some(other) => bail!("unknown command `{other}`"),
    }

    let mut component = None;
    let mut listen: SocketAddr = "127.0.0.1:3000".parse().expect("valid default address");
    let mut variables = spin_variables_from_env();
    let mut stores: Option<Vec<String>> = None;
    let mut outbound: Option<Vec<String>> = None;
    let mut cache_dir = None;
    let mut dev_issuer = None;

    while let Some(arg) = args.next() {
        let (flag, inline) = split_flag(&arg);
        let mut value = |what: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .with_context(|| format!("`{flag}` needs {what}")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => listen = parse_addr("--listen", &value("an address")?, "127.0.0.1:3000")?,
            "--var" => {
                let v = value("NAME=VALUE")?;
                let (name, val) = v
                    .split_once('=')
                    .with_context(|| format!("`--var {v}`: expected NAME=VALUE"))?;
                variables.insert(name.to_string(), val.to_string());
            }
            "--key-value-store" => stores.get_or_insert_with(Vec::new).push(value("a label")?),
            "--no-key-value-store" => stores = Some(Vec::new()),
            "--allow-outbound" => outbound
                .get_or_insert_with(Vec::new)
                .push(value("a pattern")?),
            "--cache-dir" => cache_dir = Some(PathBuf::from(value("a directory")?)),
            // The address is optional: taken when the next argument is one.
            "--dev-issuer" => {
                dev_issuer = Some(match inline {
                    Some(v) => parse_addr("--dev-issuer", &v, dev_issuer::DEFAULT_LISTEN)?,
                    None => match args.peek().and_then(|v| v.parse().ok()) {
                        Some(addr) => {
                            args.next();
                            addr
                        }
                        None => default_dev_issuer(),
                    },
                })
            }
            f if f.starts_with('-') => bail!("unknown option `{f}`"),
            _ if component.is_none() => component = Some(PathBuf::from(arg)),
            _ => bail!("unexpected argument `{arg}` (only one component can be served)"),
        }
    }

    let component = component.context("missing <component.wasm>")?;
    let mut config = HostConfig {
        variables,
        allowed_outbound_hosts: outbound,
        ..HostConfig::default()
    };
    if let Some(stores) = stores {
        config.key_value_stores = stores;
    }
    Ok(Command::Serve(ServeArgs {
        component,
        listen,
        config,
        cache_dir,
        dev_issuer,
    }))
}

/// `--flag=value` → (`--flag`, Some(`value`)); anything else as is (the value,
/// if any, is the next argument).
fn split_flag(arg: &str) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
        _ => (arg.to_string(), None),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        component,
        listen,
        mut config,
        cache_dir,
        dev_issuer,
    } = args;
    let host = Host::load_cached(&component, cache_dir.as_deref())?;
    // Bound first: the development issuer needs the real address (port 0).
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?;
    let mcp_url = format!("http://{}/mcp", reachable(listener.local_addr()?));
    let dev = match dev_issuer {
        Some(addr) => Some(start_dev_issuer(addr, &mcp_url, &mut config)?),
        None => None,
    };
    let server = host.serve_listener(config, listener)?;
    // Scripts wait for this exact line, so flush it right away.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "Serving {}", server.url())?;
    if let Some(issuer) = &dev {
        let token = issuer.mint_token(MINTED_TOKEN_LIFETIME);
        let text = dev_issuer::instructions(
            issuer.issuer(),
            &mcp_url,
            issuer.default_audience(),
            &token,
            MINTED_TOKEN_LIFETIME,
        );
        write!(stdout, "{text}")?;
    }
    stdout.flush()?;
    server.wait();
    drop(dev);
    Ok(())
}

/// Starts the development issuer and points the component at it, leaving
/// variables given explicitly (non-empty) alone.
fn start_dev_issuer(
    addr: SocketAddr,
    mcp_url: &str,
    config: &mut HostConfig,
) -> anyhow::Result<DevIssuer> {
    let explicit = |config: &HostConfig, name: &str| {
        config
            .variables
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    let audience = explicit(config, "authkit_audience").unwrap_or_else(|| mcp_url.to_string());
    let issuer = DevIssuer::start(addr, &audience)?;
    match explicit(config, "authkit_issuer") {
        Some(other) if other != issuer.issuer() => eprintln!(
            "warning: authkit_issuer is set to {other}: the component will refuse the \
             development issuer's tokens"
        ),
        Some(_) => {}
        None => {
            // Clients may reach the server as localhost too; their tokens then
            // carry that URL as audience (RFC 8707), so accept both spellings.
            let accepted = match audience.strip_prefix("http://127.0.0.1:") {
                Some(rest) => format!("{audience},http://localhost:{rest}"),
                None => audience,
            };
            for (name, value) in [
                ("authkit_issuer", issuer.issuer().to_string()),
                ("authkit_jwks_uri", issuer.jwks_uri()),
                ("authkit_audience", accepted),
            ] {
                if explicit(config, name).is_none() {
                    config.variables.insert(name.to_string(), value);
                }
            }
        }
    }
    Ok(issuer)
}

/// The address clients use: loopback for a wildcard listen address.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|command| match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Serve(args) => serve(args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authkit-host: error: {e:#}");
            if e.to_string().contains("unknown") || e.to_string().contains("missing") {
                eprint!("\n{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<ServeArgs> {
        match parse_args(args.iter().map(|s| s.to_string()))? {
            Command::Serve(a) => Ok(a),
            _ => bail!("not serve"),
        }
    }

    #[test]
    fn defaults() {
        let a = parse(&["serve", "x.wasm"]).unwrap();
        assert_eq!(a.component, PathBuf::from("x.wasm"));
        assert_eq!(a.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(a.config.key_value_stores, vec!["default"]);
        assert_eq!(a.config.allowed_outbound_hosts, None);
    }

    #[test]
    fn options() {
        let a = parse(&[
            "serve",
            "--listen=127.0.0.1:0",
            "x.wasm",
            "--var",
            "a=b=c",
            "--key-value-store",
            "cache",
            "--allow-outbound",
            "http://127.0.0.1:*",
            "--cache-dir",
            "/tmp/c",
        ])
        .unwrap();
        assert_eq!(a.listen.port(), 0);
        assert_eq!(a.config.variables.get("a").map(String::as_str), Some("b=c"));
        assert_eq!(a.config.key_value_stores, vec!["cache"]);
        assert_eq!(
            a.config.allowed_outbound_hosts,
            Some(vec!["http://127.0.0.1:*".to_string()])
        );
        assert_eq!(a.cache_dir, Some(PathBuf::from("/tmp/c")));
        let none = parse(&["serve", "x.wasm", "--no-key-value-store"]).unwrap();
        assert!(none.config.key_value_stores.is_empty());
    }

    #[test]
    fn dev_issuer_address_is_optional() {
        let a = parse(&["serve", "x.wasm", "--dev-issuer"]).unwrap();
        assert_eq!(a.dev_issuer, Some("127.0.0.1:3001".parse().unwrap()));
        let a = parse(&["serve", "--dev-issuer", "x.wasm"]).unwrap();
        assert_eq!(a.component, PathBuf::from("x.wasm"));
        assert_eq!(a.dev_issuer, Some("127.0.0.1:3001".parse().unwrap()));
        let a = parse(&["serve", "--dev-issuer", "127.0.0.1:0", "x.wasm"]).unwrap();
        assert_eq!(a.dev_issuer, Some("127.0.0.1:0".parse().unwrap()));
        let a = parse(&["serve", "x.wasm", "--dev-issuer=127.0.0.1:4000"]).unwrap();
        assert_eq!(a.dev_issuer, Some("127.0.0.1:4000".parse().unwrap()));
        assert_eq!(parse(&["serve", "x.wasm"]).unwrap().dev_issuer, None);
        assert!(parse(&["serve", "x.wasm", "--dev-issuer=nope"]).is_err());
    }

    #[test]
    fn dev_issuer_accepts_both_loopback_spellings() {
        let mut config = HostConfig::default();
        start_dev_issuer(
            "127.0.0.1:0".parse().unwrap(),
            "http://127.0.0.1:3000/mcp",
            &mut config,
        )
        .unwrap();
        assert_eq!(
            config.variables["authkit_audience"],
            "http://127.0.0.1:3000/mcp,http://localhost:3000/mcp"
        );
    }

    #[test]
    fn dev_issuer_sets_only_missing_variables() {
        let mut config = HostConfig::default()
            .with_variable("authkit_jwks_uri", "")
            .with_variable("authkit_audience", "http://example.test/mcp");
        let issuer = start_dev_issuer(
            "127.0.0.1:0".parse().unwrap(),
            "http://127.0.0.1:3000/mcp",
            &mut config,
        )
        .unwrap();
        let v = &config.variables;
        assert_eq!(v["authkit_issuer"], issuer.issuer());
        assert_eq!(
            v["authkit_jwks_uri"],
            issuer.jwks_uri(),
            "empty counts as unset"
        );
        assert_eq!(v["authkit_audience"], "http://example.test/mcp");
        assert_eq!(issuer.default_audience(), "http://example.test/mcp");

        let mut config =
            HostConfig::default().with_variable("authkit_issuer", "https://x.authkit.app");
        let _issuer = start_dev_issuer(
            "127.0.0.1:0".parse().unwrap(),
            "http://127.0.0.1:3000/mcp",
            &mut config,
        )
        .unwrap();
        assert_eq!(config.variables.len(), 1, "a real issuer is left alone");

        assert!(start_dev_issuer(
            "0.0.0.0:0".parse().unwrap(),
            "http://x/mcp",
            &mut HostConfig::default()
        )
        .is_err());
        assert_eq!(
            reachable("0.0.0.0:3000".parse().unwrap()),
            "127.0.0.1:3000".parse().unwrap()
        );
    }

    #[test]
    fn errors() {
        assert!(parse(&["serve"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--bogus"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--listen", "nope"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--var", "novalue"]).is_err());
        assert!(parse(&["serve", "a.wasm", "b.wasm"]).is_err());
        assert!(parse(&["run", "a.wasm"]).is_err());
    }
}
