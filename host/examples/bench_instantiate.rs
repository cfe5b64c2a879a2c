//! Benchmark (not a test): what a fresh instance costs each request. The host,
//! like Spin, creates a `Store` and instantiates the (pre-instantiated) component
//! for every request; this times exactly that, without calling the guest, for
//! each component given.
//!
//!   make bench-instantiate
//!   # = cargo run --profile host -p authkit-host --example bench_instantiate -- \
//!   #     [--n 2000] [--out build/bench/instantiate.md] LABEL=COMPONENT.wasm...

use std::time::Duration;

use authkit_host::Host;

fn main() -> anyhow::Result<()> {
    let mut n = 2000usize;
    let mut out = None;
    let mut components = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--n" => n = args.next().expect("--n N").parse()?,
            "--out" => out = Some(args.next().expect("--out FILE")),
            _ => match arg.split_once('=') {
                Some((label, path)) => components.push((label.to_owned(), path.to_owned())),
                None => components.push((arg.clone(), arg)),
            },
        }
    }
    anyhow::ensure!(
        !components.is_empty(),
        "give LABEL=COMPONENT.wasm arguments"
    );

    let mut table = String::from(
        "| component | instantiations | Store + instantiate, mean µs | p50 µs | p99 µs | incl. drop, mean µs | p50 µs |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for (label, path) in &components {
        let host = Host::load(path)?;
        host.time_instantiations(n / 10 + 1)?; // warm-up
        let times = host.time_instantiations(n)?;
        let (mut ready, mut full): (Vec<Duration>, Vec<Duration>) = times.into_iter().unzip();
        let (r, f) = (stats(&mut ready), stats(&mut full));
        table.push_str(&format!(
            "| {label} | {n} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.mean, r.p50, r.p99, f.mean, f.p50
        ));
    }
    print!("{table}");
    if let Some(out) = out {
        std::fs::write(out, &table)?;
    }
    Ok(())
}

struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
}

/// In microseconds.
fn stats(samples: &mut [Duration]) -> Stats {
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    Stats {
        mean: samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64,
        p50: at(0.5),
        p99: at(0.99),
    }
}
