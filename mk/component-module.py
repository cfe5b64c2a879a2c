#!/usr/bin/env python3
"""Take out, or put back, the main core module of a Wasm component.

    component-module.py extract COMPONENT MODULE_OUT
    component-module.py replace COMPONENT MODULE_IN COMPONENT_OUT
    component-module.py imports COMPONENT
    component-module.py check-keyvalue GATEWAY GUARD

The main module is the largest top-level core module section (id 1) of the
component; wasm-component-ld also embeds two small shim modules, which are left
alone. `replace` rewrites only that section's bytes: every other section (types,
imports, exports, canonical functions, instances) is copied unchanged, so the
component keeps exactly the same WIT. The replacement must keep the module's
export names and import a subset of its imports, which `wasm-opt` does.
Used by mk/size.mk to run `wasm-opt -Oz` on the middleware's core module.

`imports` prints the names of the component's top-level imports, one per line
(`make compose` checks a gateway's key-value imports with it). Anything it cannot
read is an error, never an empty list.

`check-keyvalue` fails unless every key-value import of GATEWAY is exported by
GUARD (the key-value guard `compose.wac` plugs in): any other key-value interface
(Spin 4's `spin:key-value/key-value@3.0.0`, another `wasi:keyvalue` draft) would
reach the host's stores, where the middleware keeps its signing keys. It prints
`guarded` (compose with compose.wac) or `none` (no key-value import: wac needs
compose-no-keyvalue.wac); details go to stderr.
"""

import sys

MAGIC = b"\x00asm"
CORE_MODULE_SECTION = 1
IMPORT_SECTION = 10
EXPORT_SECTION = 11


def read_leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def write_leb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sections(component):
    """(id, section start, payload start, payload end) of each top-level section."""
    if component[:4] != MAGIC or component[6:8] != b"\x01\x00":
        sys.exit("not a Wasm component (expected a component-layer preamble)")
    pos = 8
    while pos < len(component):
        section_id = component[pos]
        size, start = read_leb(component, pos + 1)
        yield section_id, pos, start, start + size
        pos = start + size


def main_module(component):
    modules = [s for s in sections(component) if s[0] == CORE_MODULE_SECTION]
    if not modules:
        sys.exit("the component embeds no core module")
    return max(modules, key=lambda s: s[3] - s[2])


def read_name(data, pos):
    size, pos = read_leb(data, pos)
    return data[pos : pos + size].decode("utf-8"), pos + size


def skip_externdesc(data, pos):
    """Skips an `externdesc` (component binary format); returns the next position."""
    sort = data[pos]
    pos += 1
    if sort == 0x00:  # core module: 0x11 typeidx
        if data[pos] != 0x11:
            sys.exit("unreadable import: core sort other than module")
        return read_leb(data, pos + 1)[1]
    if sort in (0x01, 0x04, 0x05):  # func, component, instance: typeidx
        return read_leb(data, pos)[1]
    if sort == 0x02:  # value bound: eq valueidx | valtype
        kind = data[pos]
        if kind == 0x00 or data[pos + 1] < 0x64:
            return read_leb(data, pos + 1)[1]
        return pos + 2
    if sort == 0x03:  # type bound: eq typeidx | sub resource
        return read_leb(data, pos + 1)[1] if data[pos] == 0x00 else pos + 2
    sys.exit(f"unreadable import: externdesc sort {sort:#x}")


def skip_export_rest(data, pos):
    """Skips an export's `sortidx` and optional `externdesc`."""
    pos += 2 if data[pos] == 0x00 else 1  # core sorts take a second byte
    pos = read_leb(data, pos)[1]
    if data[pos] == 0x01:
        return skip_externdesc(data, pos + 1)
    if data[pos] != 0x00:
        sys.exit("unreadable export type ascription")
    return pos + 1


def names(component, section, skip_rest):
    """Top-level import or export names (section 10 or 11)."""
    found = []
    for section_id, _, start, end in sections(component):
        if section_id != section:
            continue
        count, pos = read_leb(component, start)
        for _ in range(count):
            if component[pos] not in (0x00, 0x01):
                sys.exit(f"unreadable name form {component[pos]:#x}")
            name, pos = read_name(component, pos + 1)
            found.append(name)
            pos = skip_rest(component, pos)
        if pos != end:
            sys.exit("unreadable import or export section")
    return found


def imports(component):
    return names(component, IMPORT_SECTION, skip_externdesc)


def exports(component):
    return names(component, EXPORT_SECTION, skip_export_rest)


def is_keyvalue(name):
    package = name.split("/")[0].lower()
    return "keyvalue" in package or "key-value" in name.lower()


def read_component(path):
    try:
        data = open(path, "rb").read()
    except OSError as err:
        sys.exit(f"{path}: {err.strerror}")
    if data[:4] != MAGIC:
        sys.exit(f"{path} is not a WebAssembly file")
    if data[4:8] == b"\x01\x00\x00\x00":
        sys.exit(
            f"{path} is a core Wasm module, not a component: build the gateway for "
            "wasm32-wasip2 (or run `wasm-tools component new` on it)"
        )
    return data


def check_keyvalue(gateway_path, guard_path):
    gateway = read_component(gateway_path)
    handlers = [n for n in exports(gateway) if n.startswith("wasi:http/incoming-handler@0.2.")]
    if not handlers:
        sys.exit(
            f"{gateway_path} exports no wasi:http/incoming-handler@0.2.x, so it is not an "
            "HTTP gateway the middleware can wrap (exports: "
            + (", ".join(exports(gateway)) or "none")
            + ")"
        )
    guarded = set(exports(read_component(guard_path)))
    wanted = [n for n in imports(gateway) if is_keyvalue(n)]
    unguarded = [n for n in wanted if n not in guarded]
    if unguarded:
        sys.exit(
            f"{gateway_path} imports key-value interfaces the key-value guard does not serve:\n  "
            + "\n  ".join(unguarded)
            + "\nComposed, it could write the auth middleware's cached keys (docs/SECURITY.md)."
            + "\nRebuild the gateway against wasi:keyvalue@0.2.0-draft2 or fermyon:spin/key-value@2.0.0."
        )
    if wanted:
        print(f"key-value imports of the gateway, all behind the guard: {', '.join(wanted)}",
              file=sys.stderr)
        print("guarded")
    else:
        print("none")


def main(argv):
    if len(argv) == 3 and argv[0] == "extract":
        component = open(argv[1], "rb").read()
        _, _, start, end = main_module(component)
        open(argv[2], "wb").write(component[start:end])
    elif len(argv) == 4 and argv[0] == "replace":
        component = open(argv[1], "rb").read()
        module = open(argv[2], "rb").read()
        if module[:4] != MAGIC or module[4:8] != b"\x01\x00\x00\x00":
            sys.exit(f"{argv[2]} is not a core Wasm module")
        _, header, start, end = main_module(component)
        out = (
            component[:header]
            + bytes([CORE_MODULE_SECTION])
            + write_leb(len(module))
            + module
            + component[end:]
        )
        open(argv[3], "wb").write(out)
    elif len(argv) == 3 and argv[0] == "check-keyvalue":
        check_keyvalue(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "imports":
        for name in imports(open(argv[1], "rb").read()):
            print(name)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
