"""`make compose`'s gateway check (mk/component-module.py check-keyvalue): a gateway
whose key-value imports the guard cannot serve is refused (it would reach the
middleware's keys), and so is anything that is not an HTTP gateway component."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "mk" / "component-module.py"
GUARD = Path(os.environ.get("AUTHKIT_TEST_GUARD", ROOT / "build" / "authkit_keyvalue_guard.wasm"))
PREAMBLE = b"\x00asm\x0d\x00\x01\x00"


def leb(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def name(text):
    return b"\x00" + leb(len(text)) + text.encode()


def section(section_id, body):
    return bytes([section_id]) + leb(len(body)) + body


def component(imports, exports):
    """Only what the check reads: import names (instances of type 0), export names."""
    imp = leb(len(imports)) + b"".join(name(n) + b"\x05\x00" for n in imports)
    exp = leb(len(exports)) + b"".join(name(n) + b"\x05\x00\x00" for n in exports)
    return PREAMBLE + section(10, imp) + section(11, exp)


def check(tmp_path, data):
    gateway = tmp_path / "gateway.wasm"
    gateway.write_bytes(data)
    return subprocess.run([sys.executable, SCRIPT, "check-keyvalue", gateway, GUARD],
                          capture_output=True, text=True)


@pytest.fixture(autouse=True)
def guard_built():
    if not GUARD.exists():
        pytest.fail(f"{GUARD} is missing: run these tests with `make python-test`")


HANDLER = "wasi:http/incoming-handler@0.2.0"


def test_guarded_and_keyvalue_free_gateways_pass(tmp_path):
    r = check(tmp_path, component(["wasi:keyvalue/store@0.2.0-draft2",
                                   "fermyon:spin/key-value@2.0.0"], [HANDLER]))
    assert r.returncode == 0 and r.stdout.strip() == "guarded", r
    r = check(tmp_path, component(["wasi:http/types@0.2.0"], [HANDLER]))
    assert r.returncode == 0 and r.stdout.strip() == "none", r


@pytest.mark.parametrize("unguarded", [
    "spin:key-value/key-value@3.0.0",
    "wasi:keyvalue/store@0.2.0-draft",
    "wasi:keyvalue/store@0.3.0",
    "wasi:keyvalue/watcher@0.2.0-draft2",
])
def test_unguardable_keyvalue_imports_are_refused(tmp_path, unguarded):
    r = check(tmp_path, component(["wasi:keyvalue/store@0.2.0-draft2", unguarded], [HANDLER]))
    assert r.returncode != 0
    assert unguarded in r.stderr and "docs/SECURITY.md" in r.stderr


def test_not_a_gateway_component_is_refused_clearly(tmp_path):
    r = check(tmp_path, b"hello")
    assert r.returncode != 0 and "not a WebAssembly file" in r.stderr
    r = check(tmp_path, b"\x00asm\x01\x00\x00\x00")
    assert r.returncode != 0 and "core Wasm module, not a component" in r.stderr
    r = check(tmp_path, component([], ["wasi:cli/run@0.2.0"]))
    assert r.returncode != 0 and "exports no wasi:http/incoming-handler" in r.stderr
