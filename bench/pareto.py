#!/usr/bin/env python3
"""Pareto table of builds: shipped size vs signature verification time in Wasm.

    make bench-pareto
    # = python3 bench/pareto.py --driver target/host/examples/bench_verify_wasm \
    #     [--seconds 2] [--rounds 3] [--only a,b] [--out build/bench/pareto.md]

For each candidate build configuration (CANDIDATES below):

1. cargo builds the middleware (`-p wasmcp-spin-authkit`, the component) and the
   `verify_loop` example for wasm32-wasip2 with the candidate's profile overrides
   (`--config profile.release...`; Cargo.toml is not edited), each candidate in its
   own target dir, target/pareto/<build>, so that candidates never rebuild each
   other (a candidate with `build` set reuses another one's cargo output);
2. the main core module of both components goes through wasm-opt, as `make dist`
   does (mk/component-module.py; the Makefile's WASM_OPT_FLAGS, the candidate's -O
   level instead of -Oz): the middleware's bytes are what would ship;
3. once every build is done, the verification loops of all candidates run back to
   back, `--rounds` times (round-robin over the candidates; per algorithm the
   fastest run counts), through the bench_verify_wasm driver (wasmtime, Cranelift): RS256 and
   PS256 (2048-bit), ES256, EdDSA, µs per `token::verify`.

Writes build/bench/pareto.md (also printed): one row per candidate, the issue's
targets (shipped size <= 307,200 bytes, RS256 <= 600 µs in Wasm), and which rows are
Pareto-optimal. A candidate that fails to build or run keeps its row, with why.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WASM_TARGET = "wasm32-wasip2"
PACKAGE = "wasmcp-spin-authkit"
MIDDLEWARE = "wasmcp_spin_authkit.wasm"
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
SIZE_BUDGET = 307_200  # bytes, shipped (mk/size.mk)
RS256_BUDGET_US = 600.0  # µs per RS256 verification in Wasm

# Where the big-integer and curve arithmetic and the hashes run on the wasm32 path
# (`cargo tree --target wasm32-wasip2 -p wasmcp-spin-authkit -e normal`).
RSA_CRATES = ["superboring", "rsa", "num-bigint-dig", "num-integer", "num-traits", "num-iter"]
EC_CRATES = [
    "crypto-bigint",
    "primefield",
    "primeorder",
    "elliptic-curve",
    "ecdsa",
    "p256",
    "p384",
    "ff",
    "group",
    "wnaf",
    "ed25519-compact",
]
HASH_CRATES = ["sha2", "hmac-sha256", "hmac-sha512", "digest", "block-buffer"]
# Constant-time selection and fixed-size arrays inside the arithmetic above.
SUPPORT_CRATES = ["subtle", "ctutils", "cmov", "hybrid-array"]
CRYPTO_CRATES = RSA_CRATES + EC_CRATES + HASH_CRATES + SUPPORT_CRATES

NIGHTLY = "nightly-2026-10-30"


def opt_level(level):
    return f'"{level}"' if level in ("s", "z") else level


def packages(level, crates):
    """--config overrides: `level` for each of `crates` (the rest keep the profile's)."""
    return [f"profile.release.package.{c}.opt-level={opt_level(level)}" for c in crates]


def nightly_build_std():
    return {
        "toolchain": NIGHTLY,
        "cargo_flags": ["-Zbuild-std=std,panic_abort", "-Zpanic-immediate-abort"],
        "configs": ['profile.release.panic="immediate-abort"'],
    }


# name, settings (for the table), configs (cargo --config), wasm_opt (-O level),
# build (reuse that candidate's cargo output), toolchain/cargo_flags (nightly).
CANDIDATES = [
    {
        "name": "z",
        "settings": 'opt-level "z" everywhere (shipped today)',
        "configs": [],
        "wasm_opt": "-Oz",
    },
    {
        "name": "rsa-3",
        "settings": "opt-level 3 for the RSA crates (" + ", ".join(RSA_CRATES) + '), "z" for the rest',
        "configs": packages(3, RSA_CRATES),
        "wasm_opt": "-Oz",
    },
    {
        "name": "crypto-3",
        "settings": 'opt-level 3 for the big-integer, RSA, curve and hash crates, "z" for the rest',
        "configs": packages(3, CRYPTO_CRATES),
        "wasm_opt": "-Oz",
    },
    {
        "name": "crypto-2",
        "settings": 'opt-level 2 for the same crates, "z" for the rest',
        "configs": packages(2, CRYPTO_CRATES),
        "wasm_opt": "-Oz",
    },
    {
        "name": "s",
        "settings": 'opt-level "s" everywhere',
        "configs": ['profile.release.opt-level="s"'],
        "wasm_opt": "-Oz",
    },
    {
        "name": "crypto-3-wasm-O3",
        "settings": "crypto-3, wasm-opt -O3 instead of -Oz",
        "build": "crypto-3",
        "wasm_opt": "-O3",
    },
    {
        "name": "all-3",
        "settings": "opt-level 3 everywhere (reference: speed ceiling)",
        "configs": ["profile.release.opt-level=3"],
        "wasm_opt": "-Oz",
    },
    {
        "name": "nightly-z",
        "settings": f'{NIGHTLY}, -Zbuild-std=std,panic_abort, panic "immediate-abort", opt-level "z" everywhere',
        **nightly_build_std(),
        "wasm_opt": "-Oz",
    },
    {
        "name": "nightly-crypto-3",
        "settings": "nightly-z with crypto-3's opt-level 3 crates",
        **{**nightly_build_std(), "configs": nightly_build_std()["configs"] + packages(3, CRYPTO_CRATES)},
        "wasm_opt": "-Oz",
    },
]


def log(message):
    print(f"== pareto: {message}", file=sys.stderr, flush=True)


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(cmd, **kwargs):
    """Runs cmd; returns (ok, combined output tail)."""
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:])
    return done.returncode == 0, done.stdout


def first_error(output):
    """The first `error` line of cargo/rustc/wasm-opt output, for the table."""
    for line in output.splitlines():
        if re.match(r"^(error|\[wasm-validator error|Fatal)", line.strip()):
            return line.strip()[:200]
    tail = [l for l in output.splitlines() if l.strip()]
    return (tail[-1] if tail else "failed")[:200]


def wasm_opt_flags(args):
    if args.wasm_opt_flags is not None:
        return shlex.split(args.wasm_opt_flags)
    # The Makefile's flags, so that the shipped size here is `make dist`'s.
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "pareto-print-flags: ; @echo $(WASM_OPT_FLAGS)", "pareto-print-flags"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return shlex.split(done.stdout)


def ensure_toolchain(toolchain):
    """Installs a pinned toolchain with rust-src (build-std) and the wasm32-wasip2
    std (its wasi-libc) when rustup lacks it; returns an error or None."""
    listed = subprocess.run(["rustup", "toolchain", "list"], stdout=subprocess.PIPE, text=True).stdout
    if any(line.split()[0].startswith(toolchain + "-") for line in listed.splitlines() if line.strip()):
        return None
    ok, output = run(
        ["rustup", "toolchain", "install", toolchain, "--profile", "minimal", "-c", "rust-src", "-t", WASM_TARGET]
    )
    return None if ok else "rustup: " + first_error(output)


def build(candidate, args):
    """cargo build of the component and verify_loop; returns the release dir or an error."""
    target_dir = args.target_dir / candidate["name"]
    cmd = ["cargo"]
    if candidate.get("toolchain"):
        error = ensure_toolchain(candidate["toolchain"])
        if error:
            return None, error
        cmd.append("+" + candidate["toolchain"])
    cmd += ["build", "--release", "--target", WASM_TARGET, "-p", PACKAGE, "--lib", "--example", "verify_loop"]
    cmd += ["--target-dir", str(target_dir)]
    cmd += candidate.get("cargo_flags", [])
    for config in candidate.get("configs", []):
        cmd += ["--config", config]
    started = time.monotonic()
    ok, output = run(cmd)
    candidate["build_seconds"] = time.monotonic() - started
    if not ok:
        return None, "cargo: " + first_error(output)
    return target_dir / WASM_TARGET / "release", None


def optimize(component, out, level, flags, args):
    """`make dist`'s wasm-opt step (main core module only) with -O `level`."""
    flags = [level if re.fullmatch(r"-O[0-4sz]?", f) else f for f in flags]
    core, core_opt = out.with_suffix(".core.wasm"), out.with_suffix(".core.opt.wasm")
    steps = [
        [sys.executable, "mk/component-module.py", "extract", component, core],
        [args.wasm_opt, *flags, core, "-o", core_opt],
        [sys.executable, "mk/component-module.py", "replace", component, core_opt, out],
    ]
    for step in steps:
        ok, output = run([str(s) for s in step])
        if not ok:
            return "wasm-opt step: " + first_error(output)
    core.unlink()
    core_opt.unlink()
    return None


def verify(candidate, args, round_index):
    """One run of the driver on the candidate's verify_loop: alg -> µs, or an error."""
    figures = args.out_dir / f"{candidate['name']}.round{round_index}.json"
    ok, output = run(
        [str(args.driver), "--wasm", str(candidate["verify_loop"]), "--seconds", str(args.seconds), "--json", str(figures)]
    )
    if not ok:
        return None, "verify: " + first_error(output)
    wasm = json.loads(figures.read_text())["wasm"]
    return {alg: wasm[alg] / 1000.0 for alg in ALGORITHMS if alg in wasm}, None


def pareto(rows, keys):
    """Names of the rows no other row beats on every key (lower is better)."""
    measured = [r for r in rows if all(r.get(k) is not None for k in keys)]
    optimal = set()
    for r in measured:
        dominated = any(
            all(o[k] <= r[k] for k in keys) and any(o[k] < r[k] for k in keys) for o in measured if o is not r
        )
        if not dominated:
            optimal.add(r["name"])
    return optimal


def table(candidates):
    rows = []
    for c in candidates:
        row = {"name": c["name"], "bytes": c.get("bytes")}
        for alg in ALGORITHMS:
            row[alg] = (c.get("us") or {}).get(alg)
        rows.append(row)
    by_rs256 = pareto(rows, ["bytes", "RS256"])
    by_all = pareto(rows, ["bytes", *ALGORITHMS])

    def num(v, digits=0):
        return "n/a" if v is None else f"{v:,.{digits}f}"

    def spread(runs):
        """Slowest run over the fastest: how much the machine moved the figure."""
        return "n/a" if not runs else f"+{(max(runs) / min(runs) - 1) * 100:.0f} %"

    def met(ok):
        return "n/a" if ok is None else ("**yes**" if ok else "no")

    lines = [
        "| candidate | settings | wasm-opt | shipped bytes | cargo bytes | RS256 µs | PS256 µs | ES256 µs | EdDSA µs "
        "| RS256 spread | ≤ 300 KiB | RS256 ≤ 600 µs | Pareto (bytes, RS256) | Pareto (bytes, all 4) | build s |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :-: | :-: | :-: | :-: | ---: |",
    ]
    for c, row in zip(candidates, rows):
        size_ok = None if row["bytes"] is None else row["bytes"] <= SIZE_BUDGET
        speed_ok = None if row["RS256"] is None else row["RS256"] <= RS256_BUDGET_US
        settings = c["settings"] + (f" — **failed**: {c['error']}" if c.get("error") else "")
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{c['name']}`",
                    settings.replace("|", "\\|"),
                    c["wasm_opt"],
                    num(row["bytes"]),
                    num(c.get("cargo_bytes")),
                    *(num(row[alg]) for alg in ALGORITHMS),
                    spread((c.get("runs") or {}).get("RS256")),
                    met(size_ok),
                    met(speed_ok),
                    "**✓**" if c["name"] in by_rs256 else "",
                    "**✓**" if c["name"] in by_all else "",
                    num(c.get("build_seconds")),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def git(*words):
    done = subprocess.run(["git", *words], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return done.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--driver", type=Path, default=ROOT / "target/host/examples/bench_verify_wasm")
    parser.add_argument("--seconds", type=float, default=2.0, help="per algorithm per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per candidate; the fastest counts")
    parser.add_argument("--only", help="comma-separated candidate names")
    parser.add_argument("--target-dir", type=Path, default=ROOT / "target/pareto")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "build/bench/pareto")
    parser.add_argument("--out", type=Path, default=ROOT / "build/bench/pareto.md")
    parser.add_argument("--wasm-opt", default=os.environ.get("WASM_OPT", "wasm-opt"))
    parser.add_argument("--wasm-opt-flags", default=os.environ.get("WASM_OPT_FLAGS"))
    args = parser.parse_args()
    for attr in ("driver", "target_dir", "out_dir", "out"):
        setattr(args, attr, (ROOT / getattr(args, attr)).resolve())
    if not args.driver.is_file():
        sys.exit(f"pareto: no driver at {args.driver} (make bench-pareto builds it)")

    candidates = CANDIDATES
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {c["name"] for c in CANDIDATES}
        if unknown:
            sys.exit(f"pareto: unknown candidates {sorted(unknown)}; known: {[c['name'] for c in CANDIDATES]}")
        candidates = [c for c in CANDIDATES if c["name"] in wanted]
    # A candidate that reuses another's build needs it in the run.
    for c in candidates:
        if c.get("build") and c["build"] not in {o["name"] for o in candidates}:
            sys.exit(f"pareto: {c['name']} reuses the build of {c['build']}: add it to --only")
    candidates = [dict(c) for c in candidates]

    started = time.monotonic()
    load_start = loadavg()
    log(f"load average at start (1/5/15 min): {load_start}")
    flags = wasm_opt_flags(args)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    # 1 and 2: every build, then wasm-opt; no timing yet.
    builds = {}
    for c in candidates:
        source = c.get("build", c["name"])
        if source not in builds:
            log(f"building {source}")
            builds[source] = build(next(o for o in candidates if o["name"] == source), args)
        release, error = builds[source]
        if error:
            c["error"] = error if source == c["name"] else f"build of {source} failed"
            continue
        if source != c["name"]:
            c["build_seconds"] = None
        out = args.out_dir / c["name"]
        out.mkdir(parents=True, exist_ok=True)
        c["cargo_bytes"] = (release / MIDDLEWARE).stat().st_size
        c["verify_loop"] = out / "verify_loop.wasm"
        for component, optimized in [(release / MIDDLEWARE, out / MIDDLEWARE), (release / "examples/verify_loop.wasm", c["verify_loop"])]:
            error = optimize(component, optimized, c["wasm_opt"], flags, args)
            if error:
                c["error"] = error
                break
        else:
            c["bytes"] = (out / MIDDLEWARE).stat().st_size
            log(f"{c['name']}: {c['bytes']:,} bytes shipped (cargo: {c['cargo_bytes']:,})")
    load_built = loadavg()

    # 3: all verification loops back to back, round-robin; the fastest run counts.
    for round_index in range(args.rounds):
        for c in candidates:
            if c.get("error"):
                continue
            log(f"verify {c['name']}, round {round_index + 1}/{args.rounds}")
            us, error = verify(c, args, round_index)
            if error:
                c["error"] = error
                continue
            best = c.setdefault("us", {})
            for alg, value in us.items():
                best[alg] = min(value, best.get(alg, value))
                c.setdefault("runs", {}).setdefault(alg, []).append(value)
    load_end = loadavg()
    total = time.monotonic() - started
    log(f"load average at end (1/5/15 min): {load_end}")

    rustc = subprocess.run(["rustc", "--version"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()
    wasm_opt_version = subprocess.run([args.wasm_opt, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    dirty = "" if subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode == 0 else " + uncommitted changes"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    report = f"""# Pareto table of builds (make bench-pareto)

- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- commit: {git('rev-parse', '--short', 'HEAD')}{dirty}
- machine: {os.cpu_count()} CPUs, {cpu}
- rustc: {rustc} (nightly rows: {NIGHTLY}); {wasm_opt_version}; wasm-opt flags: `{' '.join(flags)}` (-O level per row)
- load average (1/5/15 min): at start {load_start}, after the builds {load_built}, at end {load_end}
- verification: {args.seconds:g} s per algorithm per run, {args.rounds} round(s) round-robin, fastest run per algorithm; wasmtime (Cranelift) via bench_verify_wasm
- total: {total:.0f} s

Shipped bytes: the middleware component after wasm-opt (what `make dist` writes to
build/wasmcp_spin_authkit.wasm). µs: one `token::verify` (signature and claims) of the
`verify_loop` example built and optimised the same way. Targets: ≤ {SIZE_BUDGET:,} bytes
shipped and RS256 ≤ {RS256_BUDGET_US:.0f} µs. Pareto (bytes, RS256): no other row is at
least as small and as fast on RS256 and better on one; (bytes, all 4): the same over
bytes and all four algorithms. RS256 spread: the slowest of the runs over the fastest
(other load on the machine); differences smaller than it are noise.

{table(candidates)}"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    log(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out} in {total:.0f} s")


if __name__ == "__main__":
    main()
