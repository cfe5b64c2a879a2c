//! `authkit-dev-issuer [--listen ADDR] [--audience URL]`: the DEVELOPMENT-ONLY
//! issuer on its own, for `spin up` (what `make up` runs when Spin is installed
//! and no real issuer is configured).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use authkit_dev_issuer::{instructions, DevIssuer, DEFAULT_LISTEN, MINTED_TOKEN_LIFETIME};

const USAGE: &str = "\
usage: authkit-dev-issuer [--listen ADDR] [--audience URL]

A local OAuth 2.1 authorization server for DEVELOPMENT ONLY (automatic login
and consent, in-memory keys): prints a bearer token and commands to try.
  --listen ADDR     loopback address (default 127.0.0.1:3001)
  --audience URL    audience of the printed token and of tokens requested
                    without `resource` (default http://127.0.0.1:3000/mcp)
  -h, --help        show this help
";

/// Where `make up` serves the MCP endpoint.
const DEFAULT_MCP_URL: &str = "http://127.0.0.1:3000/mcp";

#[derive(Debug, PartialEq)]
struct Args {
    listen: SocketAddr,
    audience: String,
}

/// `None`: help was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Args>> {
    let mut args = args.into_iter();
    let mut parsed = Args {
        listen: DEFAULT_LISTEN.parse().expect("valid default address"),
        audience: DEFAULT_MCP_URL.to_string(),
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| match inline.clone() {
            Some(v) => Ok(v),
            None => args
                .next()
                .with_context(|| format!("`{flag}` needs {what}")),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let v = value("an address")?;
                parsed.listen = v
                    .parse()
                    .with_context(|| format!("`--listen {v}`: expected e.g. {DEFAULT_LISTEN}"))?;
            }
            "--audience" => {
                let v = value("a URL")?;
                url::Url::parse(&v)
                    .with_context(|| format!("`--audience {v}`: expected an absolute URL"))?;
                parsed.audience = v;
            }
            _ => bail!("unknown argument `{arg}`"),
        }
    }
    Ok(Some(parsed))
}

fn run(args: Args) -> anyhow::Result<()> {
    let issuer = DevIssuer::start(args.listen, &args.audience)?;
    let token = issuer.mint_token(MINTED_TOKEN_LIFETIME);
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "Development issuer {} (DEVELOPMENT ONLY)",
        issuer.issuer()
    )?;
    let text = instructions(
        issuer.issuer(),
        &args.audience,
        &args.audience,
        &token,
        MINTED_TOKEN_LIFETIME,
    );
    write!(stdout, "{text}")?;
    writeln!(
        stdout,
        "For spin up (the development manifest: loopback outbound hosts):\n  \
         SPIN_VARIABLE_AUTHKIT_ISSUER={} SPIN_VARIABLE_AUTHKIT_JWKS_URI={} \
         SPIN_VARIABLE_AUTHKIT_AUDIENCE={} spin up --from spin.dev.toml",
        issuer.issuer(),
        issuer.jwks_uri(),
        args.audience
    )?;
    // Scripts wait for these lines.
    stdout.flush()?;
    issuer.wait();
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|args| match args {
        Some(args) => run(args),
        None => {
            print!("{USAGE}");
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authkit-dev-issuer: error: {e:#}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Option<Args>> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_options() {
        assert_eq!(
            parse(&[]).unwrap(),
            Some(Args {
                listen: "127.0.0.1:3001".parse().unwrap(),
                audience: DEFAULT_MCP_URL.to_string()
            })
        );
        assert_eq!(
            parse(&["--listen=127.0.0.1:0", "--audience", "http://a/mcp"]).unwrap(),
            Some(Args {
                listen: "127.0.0.1:0".parse().unwrap(),
                audience: "http://a/mcp".to_string()
            })
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }

    #[test]
    fn errors() {
        assert!(parse(&["--audience", "relative"]).is_err());
        assert!(parse(&["--listen", "nope"]).is_err());
        assert!(parse(&["--listen"]).is_err());
        assert!(parse(&["extra"]).is_err());
    }
}
