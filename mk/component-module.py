#!/usr/bin/env python3
"""Take out, or put back, the main core module of a Wasm component.

    component-module.py extract COMPONENT MODULE_OUT
    component-module.py replace COMPONENT MODULE_IN COMPONENT_OUT

The main module is the largest top-level core module section (id 1) of the
component; wasm-component-ld also embeds two small shim modules, which are left
alone. `replace` rewrites only that section's bytes: every other section (types,
imports, exports, canonical functions, instances) is copied unchanged, so the
component keeps exactly the same WIT. The replacement must keep the module's
export names and import a subset of its imports, which `wasm-opt` does.
Used by mk/size.mk to run `wasm-opt -Oz` on the middleware's core module.
"""

import sys

MAGIC = b"\x00asm"
CORE_MODULE_SECTION = 1


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
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
