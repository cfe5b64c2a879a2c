//! `authkit-host serve <component.wasm> [options]`: run a wasi:http component
//! like `spin up` would (see the library docs for what is provided).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use authkit_host::{spin_variables_from_env, Host, HostConfig};

const USAGE: &str = "\
usage: authkit-host serve <component.wasm> [options]

options:
  --listen ADDR              address to listen on (default 127.0.0.1:3000)
  --var NAME=VALUE           a Spin variable (repeatable; wins over SPIN_VARIABLE_<NAME>)
  --key-value-store LABEL    grant a key-value store (repeatable; default: `default`)
  --no-key-value-store       grant no key-value store at all
  --allow-outbound PATTERN   allow outgoing requests matching PATTERN, e.g.
                             https://*.authkit.app or http://127.0.0.1:* (repeatable;
                             default: allow everything)
  --cache-dir DIR            keep compiled native code in DIR between runs
  -h, --help                 show this help
";

struct ServeArgs {
    component: PathBuf,
    listen: SocketAddr,
    config: HostConfig,
    cache_dir: Option<PathBuf>,
}

enum Command {
    Help,
    Serve(ServeArgs),
}

fn parse_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Command> {
    let mut args = args.into_iter();
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

    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
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
            "--listen" => {
                let v = value("an address")?;
                listen = v
                    .parse()
                    .with_context(|| format!("`--listen {v}`: expected e.g. 127.0.0.1:3000"))?;
            }
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
    }))
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let host = Host::load_cached(&args.component, args.cache_dir.as_deref())?;
    let server = host.serve(args.config, args.listen)?;
    // Scripts wait for this exact line, so flush it right away.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "Serving {}", server.url())?;
    stdout.flush()?;
    server.wait();
    Ok(())
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
            Command::Help => bail!("help"),
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
    fn errors() {
        assert!(parse(&["serve"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--bogus"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--listen", "nope"]).is_err());
        assert!(parse(&["serve", "x.wasm", "--var", "novalue"]).is_err());
        assert!(parse(&["serve", "a.wasm", "b.wasm"]).is_err());
        assert!(parse(&["run", "a.wasm"]).is_err());
    }
}
