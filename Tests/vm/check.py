#!/usr/bin/env python3
"""Host side of the hiodctl VM rig.

Decodes what the guest printed on its data UART, turns the guest's sysfs dump
into "ground truth", validates `hiodctl --json list` against the schema,
cross-checks it with the ground truth, evaluates the scenario's jq
expectations, and unpacks sysfs captures into fixtures.

  check.py run       --data DATA --name N [--bind BDF]... [--expect JQ]...
                     [--needs-hiodctl] [--truth-only] [--bind-may-fail]
                     [--list-rc N] [--doc-out FILE]
  check.py selftest  --data DATA --name N [--expect JQ]... [--bind BDF]...
  check.py synth     --data DATA            (print the list JSON the truth implies)
  check.py capture   --data DATA --dest DIR
  check.py cpio      ROOTDIR OUT            (newc archive, with /dev/console)
  check.py section   --data DATA --section NAME --out FILE   (one section's payload)

Only the standard library and the `jq` program are used.
"""
import argparse
import base64
import copy
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile

# ============================================================================
# The hiodctl `list --json` contract, read from Tests/vm/schema.json: the key table
# hiodctl's encoder and decoder are written against (Sources/HostIOMMU/Report/
# ContractKey.swift), rendered by ContractSchemaTests, which keeps the file equal to it.
# The checker names keys "ALIAS.key" (dev.bdf, group.viable); the aliases below say which
# object of the schema each prefix is. A key missing from the schema is a KeyError here,
# not a silently different name.
# ============================================================================
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.json")
ALIASES = {
    "host": "host", "unit": "iommu_unit", "vtd": "intel_vtd", "amd": "amd_vi", "node": "device_node",
    "diag": "diagnosis", "dev": "device", "cdev": "vfio_cdev", "group": "group", "rr": "reserved_region",
    "blocker": "group_member", "unsafe": "unsafe_interrupts", "port": "upstream_port", "use": "device_in_use",
}
with open(SCHEMA_FILE, encoding="utf-8") as _f:
    CONTRACT = json.load(_f)
LIST_OBJECT = CONTRACT["documents"]["list"]
K = {key: key for key in CONTRACT["objects"][LIST_OBJECT]}
for _alias, _object in ALIASES.items():
    for _key in CONTRACT["objects"][_object]:
        K[f"{_alias}.{_key}"] = _key
SCHEMA_VERSION = CONTRACT["schema_version"]


class T:
    """Type descriptors for the schema."""

    def __init__(self, kind, *args):
        self.kind, self.args = kind, args


STR, INT, BOOL = T("str"), T("int"), T("bool")


def RE(pattern, what):
    return T("re", re.compile(pattern), what)


def NULL(t):
    return T("null", t)


def ENUM(*values):
    return T("enum", values)


def LIST(t):
    return T("list", t)


def OBJ(**fields):  # fields are logical names (keys of K) -> type
    return T("obj", fields)


HEX64 = RE(r"^0x[0-9a-f]{16}$", '"0x" + 16 lowercase hex digits')
BDF = RE(r"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", "DDDD:BB:DD.F")
DEVNUM = RE(r"^\d+:\d+$", "MAJ:MIN")
_PREFIX = {obj: alias for alias, obj in ALIASES.items()}


def MAP(t):
    return T("map", t)


def contract_type(t):
    """The checker's type descriptor for a schema.json type."""
    kind = t["kind"]
    if kind == "string":
        return STR
    if kind == "integer":
        return INT
    if kind == "boolean":
        return BOOL
    if kind == "hex64":
        return HEX64
    if kind == "hex":
        return RE(r"^[0-9a-f]{%d}$" % t["digits"], "%d lowercase hex digits, no 0x" % t["digits"])
    if kind == "pci_address":
        return BDF
    if kind == "device_number":
        return DEVNUM
    if kind == "choice":
        return ENUM(*t["values"])
    if kind == "list":
        return LIST(contract_type(t["element"]))
    if kind == "map":
        return MAP(contract_type(t["value"]))
    if kind == "nullable":
        return NULL(contract_type(t["value"]))
    if kind == "object":
        return contract_object(t["object"])
    raise ValueError(f"schema.json: unknown type kind {kind!r}")


def contract_object(name):
    prefix = "" if name == LIST_OBJECT else _PREFIX[name] + "."
    return OBJ(**{prefix + key: contract_type(field["type"])
                  for key, field in sorted(CONTRACT["objects"][name].items())})


SCHEMA = contract_object(LIST_OBJECT)


def validate(value, t, path, errs):
    """Append "path: problem" strings to errs."""
    k = t.kind
    if k == "null":
        if value is not None:
            validate(value, t.args[0], path, errs)
    elif value is None:
        errs.append(f"{path}: is null, expected {describe(t)}")
    elif k == "str":
        if not isinstance(value, str):
            errs.append(f"{path}: expected a string, got {json.dumps(value)[:60]}")
    elif k == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errs.append(f"{path}: expected an integer, got {json.dumps(value)[:60]}")
    elif k == "bool":
        if not isinstance(value, bool):
            errs.append(f"{path}: expected true/false, got {json.dumps(value)[:60]}")
    elif k == "re":
        if not isinstance(value, str) or not t.args[0].match(value):
            errs.append(f"{path}: expected {t.args[1]}, got {json.dumps(value)[:60]}")
    elif k == "enum":
        if value not in t.args[0]:
            errs.append(f"{path}: expected one of {list(t.args[0])}, got {json.dumps(value)[:60]}")
    elif k == "list":
        if not isinstance(value, list):
            errs.append(f"{path}: expected a list, got {json.dumps(value)[:60]}")
        else:
            for i, v in enumerate(value):
                validate(v, t.args[0], f"{path}[{i}]", errs)
    elif k == "map":
        if not isinstance(value, dict):
            errs.append(f"{path}: expected an object, got {json.dumps(value)[:60]}")
        else:
            for name, v in sorted(value.items()):
                validate(v, t.args[0], f"{path}.{name}", errs)
    elif k == "obj":
        if not isinstance(value, dict):
            errs.append(f"{path}: expected an object, got {json.dumps(value)[:60]}")
            return
        for logical, sub in t.args[0].items():
            key = K[logical]
            if key not in value:
                known = {K[x] for x in t.args[0]}
                extra = sorted(set(value) - known)
                errs.append(f"{path}: missing key {key!r} (checker name {logical!r}; "
                            f"keys the checker does not know here: {extra})")
            else:
                validate(value[key], sub, f"{path}.{key}", errs)


def describe(t):
    return {"str": "a string", "int": "an integer", "bool": "true/false", "list": "a list",
            "obj": "an object", "enum": "one of %s" % (list(t.args[0]),) if t.args else "",
            "re": t.args[1] if t.args else ""}.get(t.kind, t.kind)


# Every other document (caps, check, host, snapshot, errors, several hosts) against the
# same schema, straight from its JSON types: a guest command's stdout that carries a
# schema_version must be one of the schema's documents, with exactly its keys and types.
_SCALAR_RE = {
    "hex64": re.compile(r"^0x[0-9a-f]{16}$"),
    "pci_address": re.compile(r"^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$"),
    "device_number": re.compile(r"^\d+:\d+$"),
}


def contract_problems(value, t, path):
    """Problems of value against a schema.json type, as "path: problem" strings."""
    kind = t["kind"]
    if kind == "nullable":
        return [] if value is None else contract_problems(value, t["value"], path)
    if kind == "one_of":
        found = [contract_problems(value, alt, path) for alt in t["values"]]
        best = min(found, key=len) if found else [f"{path}: no alternative"]
        return [] if not best else [f"{path}: none of {len(found)} alternatives fits; nearest:"] + best
    if value is None:
        return [f"{path}: is null, expected {kind}"]
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in _SCALAR_RE:
        ok = isinstance(value, str) and bool(_SCALAR_RE[kind].match(value))
    elif kind == "hex":
        ok = isinstance(value, str) and bool(re.fullmatch("[0-9a-f]{%d}" % t["digits"], value))
    elif kind == "choice":
        ok = value in t["values"]
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {json.dumps(value)[:60]}"]
        return [e for i, v in enumerate(value) for e in contract_problems(v, t["element"], f"{path}[{i}]")]
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {json.dumps(value)[:60]}"]
        return [e for k, v in sorted(value.items()) for e in contract_problems(v, t["value"], f"{path}.{k}")]
    elif kind == "object":
        return object_problems(value, t["object"], path)
    else:
        return [f"{path}: schema.json: unknown type kind {kind!r}"]
    return [] if ok else [f"{path}: expected {kind}, got {json.dumps(value)[:60]}"]


def object_problems(value, name, path):
    if not isinstance(value, dict):
        return [f"{path}: expected the object {name}, got {json.dumps(value)[:60]}"]
    table = CONTRACT["objects"][name]
    errs = [f"{path}.{k}: " + ("in the schema, not written" if k in table else "written, not in the schema")
            for k in sorted(set(value) ^ set(table))]
    for key, field in sorted(table.items()):
        if key in value:
            errs += contract_problems(value[key], field["type"], f"{path}.{key}")
    return errs


def contract_objects(value, t, depth=0):
    """(depth, dict) for every object of the schema within value, which fits type t."""
    kind = t["kind"]
    if value is None:
        return
    if kind == "nullable":
        yield from contract_objects(value, t["value"], depth)
    elif kind == "one_of":
        fits = [alt for alt in t["values"] if not contract_problems(value, alt, "$")]
        if fits:
            yield from contract_objects(value, fits[0], depth)
    elif kind == "list":
        for v in value:
            yield from contract_objects(v, t["element"], depth + 1)
    elif kind == "map":
        for v in value.values():
            yield from contract_objects(v, t["value"], depth + 1)
    elif kind == "object":
        yield depth, value
        for key, field in CONTRACT["objects"][t["object"]].items():
            yield from contract_objects(value.get(key), field["type"], depth + 1)


def deepest_object(doc):
    """The most deeply nested object of the schema (not a map) in a document that fits."""
    name = next(n for n in CONTRACT["documents"].values() if set(CONTRACT["objects"][n]) == set(doc))
    return max(contract_objects(doc, {"kind": "object", "object": name}), key=lambda found: found[0])[1]


def document_problems(doc):
    """None when doc is no contract document (no schema_version: an export's own format),
    else the problems of doc against the schema's document with its top-level keys."""
    if not isinstance(doc, dict) or "schema_version" not in doc:
        return None
    for command, name in sorted(CONTRACT["documents"].items()):
        if set(CONTRACT["objects"][name]) == set(doc):
            return object_problems(doc, name, f"$<{command}>")
    return [f"$: no document of the schema has the keys {sorted(doc)}"]


def g(obj, logical):
    """obj[K[logical]] (None when absent; the schema check reports absence)."""
    if not isinstance(obj, dict):
        return None
    return obj.get(K[logical])


# ============================================================================
# Guest output: sections on the data UART
# ============================================================================
SEC_BEGIN = re.compile(r"^@@HIOD BEGIN (\S+)@@$")
SEC_END = re.compile(r"^@@HIOD END (\S+) rc=(-?\d+)@@$")


def parse_sections(text):
    sections, done, cur, buf = {}, False, None, []
    for raw in text.splitlines():
        line = raw.strip("\r\n\0 ")
        if line == "@@HIOD DONE@@":
            done = True
            continue
        m = SEC_BEGIN.match(line)
        if m:
            cur, buf = m.group(1), []
            continue
        m = SEC_END.match(line)
        if m and cur == m.group(1):
            try:
                payload = base64.b64decode("".join(buf), validate=True)
            except Exception as e:  # noqa: BLE001
                payload = f"<undecodable section: {e}>".encode()
            sections[cur] = {"rc": int(m.group(2)), "data": payload}
            cur = None
            continue
        if cur is not None:
            buf.append(line)
    return sections, done


def text_of(sections, name):
    s = sections.get(name)
    return s["data"].decode("utf-8", "replace") if s else None


# ============================================================================
# Ground truth
# ============================================================================
VFIO_DRIVERS = re.compile(r"^(vfio-pci|.*[-_]vfio[-_]pci)$")
# Drivers that do not claim DMA ownership of a group (driver_managed_dma in the
# kernel): a group whose members are all VFIO-bound, unbound or on one of
# these is viable.
DMA_MANAGED_DRIVERS = {"pci-stub", "pcieport"}
IR_ENABLED = re.compile(r"DMAR-IR: Enabled IRQ remapping|AMD-Vi: Interrupt remapping enabled")


def is_vfio_driver(drv):
    return bool(drv) and bool(VFIO_DRIVERS.match(drv))


def kv(tokens):
    out = {}
    for tok in tokens:
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = None if v == "-" else v
    return out


def hexdev_to_dec(s):  # busybox stat %t:%T prints hex major:minor
    a, b = s.split(":")
    return f"{int(a, 16)}:{int(b, 16)}"


def parse_truth(text, dmesg=""):
    t = {"release": None, "cmdline": None, "devices": {}, "groups": {}, "units": {},
         "nodes": {}, "params": {}}
    for line in text.splitlines():
        parts = line.split(" ")
        tag = parts[0]
        if tag in ("release", "cmdline"):
            t[tag] = line[len(tag) + 1:]
        elif tag == "dev":
            d = kv(parts[2:])
            d["group"] = int(d["group"]) if d.get("group") else None
            t["devices"][parts[1]] = d
        elif tag == "group":
            d = kv(parts[2:])
            t["groups"][parts[1]] = {"type": d.get("type"), "name": d.get("name"),
                                     "devices": [], "reserved_regions": []}
        elif tag == "groupdev":
            t["groups"][parts[1]]["devices"].append(parts[2])
        elif tag == "rr":
            t["groups"][parts[1]]["reserved_regions"].append(
                {"start": hex64(parts[2]), "end": hex64(parts[3]), "type": " ".join(parts[4:])})
        elif tag == "unit":
            t["units"][parts[1]] = {"link": kv(parts[2:]).get("link"), "attrs": {}, "devices": []}
        elif tag == "unitattr":
            t["units"][parts[1]]["attrs"][parts[2]] = " ".join(parts[3:])
        elif tag == "unitdev":
            t["units"][parts[1]]["devices"].append(parts[2])
        elif tag == "node":
            n = {"kind": parts[2]}
            if parts[2] == "char":
                n["dev"] = hexdev_to_dec(parts[3])
            t["nodes"][parts[1]] = n
        elif tag == "param":
            t["params"][parts[1]] = " ".join(parts[2:])
    # derived facts
    for gid, grp in t["groups"].items():
        grp["devices"].sort()
        blockers = []
        for bdf in grp["devices"]:
            drv = t["devices"].get(bdf, {}).get("driver")
            if drv and not is_vfio_driver(drv) and drv not in DMA_MANAGED_DRIVERS:
                blockers.append({"device": bdf, "driver": drv})
        grp["viable"] = not blockers
        grp["blockers"] = blockers
        grp["noiommu"] = f"/dev/vfio/noiommu-{gid}" in t["nodes"] or grp["name"] == "vfio-noiommu"
        grp["vfio_node_path"] = f"/dev/vfio/noiommu-{gid}" if grp["noiommu"] else f"/dev/vfio/{gid}"
        grp["vfio_node_present"] = grp["vfio_node_path"] in t["nodes"]
    # The kernel's own words when it turns interrupt remapping on (never hiodctl's
    # heuristic, the IR- chip names): Intel and AMD print these once, at boot.
    t["interrupt_remapping"] = ("enabled" if IR_ENABLED.search(dmesg or "") else "disabled")
    t["vfio_container_present"] = "/dev/vfio/vfio" in t["nodes"]
    t["iommufd_present"] = "/dev/iommu" in t["nodes"]
    return t


def hex64(s):
    return "0x%016x" % int(s, 16)


def unit_vendor(name, unit):
    attrs = unit.get("attrs", {})
    if any(a.startswith("intel-iommu/") for a in attrs):
        return "intel"
    if any(a.startswith("amd-iommu/") for a in attrs):
        return "amd"
    if name.startswith("smmu"):
        return "arm"
    if "virtio" in (unit.get("link") or "") or name.startswith("virtio"):
        return "virtio"
    return "unknown"


# ============================================================================
# What `hiodctl --json list` must say, derived from the ground truth
# ============================================================================
def placeholder(t):
    """A value of type t for a key the ground truth does not decide (names from
    pci.ids, the host's module list): null where the schema allows it."""
    if t.kind == "null":
        return None
    if t.kind == "obj":
        return complete({}, t)
    if t.kind == "enum":
        return t.args[0][0]
    if t.kind == "re":
        for candidate in ("0x" + "0" * 16, "0000:00:00.0", "0:0", "0000", "00"):
            if t.args[0].match(candidate):
                return candidate
        raise ValueError(f"no placeholder for {t.args[1]}")
    return {"str": "", "int": 0, "bool": False, "list": [], "map": {}}[t.kind]


def complete(value, t):
    """value with every key the schema has and value lacks added (placeholder), at
    every depth, so the synthesized document is one hiodctl could print."""
    if value is None:
        return None
    if t.kind == "null":
        return complete(value, t.args[0])
    if t.kind == "list" and isinstance(value, list):
        return [complete(v, t.args[0]) for v in value]
    if t.kind == "obj" and isinstance(value, dict):
        out = dict(value)
        for logical, sub in t.args[0].items():
            key = K[logical]
            out[key] = complete(out[key], sub) if key in out else placeholder(sub)
        return out
    return value


def synthesize(t):
    """A list document that agrees with the ground truth in every checked
    field. Used by the self-test (and handy as a reference)."""
    return complete(synthesize_checked(t), SCHEMA)


def synthesize_checked(t):
    """The fields of the list document the ground truth decides."""
    units = []
    for name in sorted(t["units"]):
        u = t["units"][name]
        v = unit_vendor(name, u)
        a = u["attrs"]
        vtd = amd = None
        if v == "intel":
            vtd = {K["vtd.version"]: a.get("intel-iommu/version", ""),
                   K["vtd.cap"]: hex64(a["intel-iommu/cap"]),
                   K["vtd.ecap"]: hex64(a["intel-iommu/ecap"])}
        if v == "amd":
            amd = {K["amd.cap"]: "0x" + a.get("amd-iommu/cap", "0"),
                   K["amd.features"]: a.get("amd-iommu/features", "")}
        units.append({K["unit.name"]: name, K["unit.vendor"]: v,
                      K["unit.intel_vtd"]: vtd, K["unit.amd_vi"]: amd})
    devices = []
    for bdf in sorted(t["devices"]):
        d = t["devices"][bdf]
        dom, bus, rest = bdf.split(":")
        dv, fn = rest.split(".")
        gid = d["group"]
        grp = t["groups"].get(str(gid)) if gid is not None else None
        bound = is_vfio_driver(d.get("driver"))
        cls = d["class"][2:].rjust(6, "0")
        cdev = None
        if d.get("vfiodev"):
            p = f"/dev/vfio/devices/{d['vfiodev']}"
            cdev = {K["cdev.name"]: d["vfiodev"], K["cdev.path"]: p,
                    K["cdev.dev"]: d["vfiodevdev"], K["cdev.present"]: p in t["nodes"]}
        node = None
        if grp is not None and bound:
            node = {K["node.path"]: grp["vfio_node_path"], K["node.present"]: grp["vfio_node_present"]}
        devices.append({
            K["dev.bdf"]: bdf, K["dev.domain"]: int(dom, 16), K["dev.bus"]: int(bus, 16),
            K["dev.device"]: int(dv, 16), K["dev.function"]: int(fn, 16),
            K["dev.vendor_id"]: d["vendor"][2:].rjust(4, "0"),
            K["dev.device_id"]: d["device"][2:].rjust(4, "0"),
            K["dev.class"]: cls[:4], K["dev.prog_if"]: cls[4:],
            K["dev.revision"]: d["revision"][2:].rjust(2, "0"),
            K["dev.subsystem_vendor_id"]: d["subsystem_vendor"][2:].rjust(4, "0"),
            K["dev.subsystem_device_id"]: d["subsystem_device"][2:].rjust(4, "0"),
            K["dev.vendor_name"]: None, K["dev.device_name"]: None,
            K["dev.iommu_group"]: gid, K["dev.iommu_unit"]: d.get("iommu"),
            K["dev.driver"]: d.get("driver"), K["dev.vfio_bound"]: bound,
            K["dev.vfio_group_node"]: node, K["dev.vfio_cdev"]: cdev,
            K["dev.viable"]: grp["viable"] if grp is not None else None,
        })
    groups = []
    for gid in sorted(t["groups"], key=int):
        grp = t["groups"][gid]
        anybound = any(is_vfio_driver(t["devices"].get(b, {}).get("driver")) for b in grp["devices"])
        groups.append({
            K["group.id"]: int(gid), K["group.type"]: grp["type"], K["group.name"]: grp["name"],
            K["group.noiommu"]: grp["noiommu"], K["group.devices"]: list(grp["devices"]),
            K["group.reserved_regions"]: [{K["rr.start"]: r["start"], K["rr.end"]: r["end"],
                                           K["rr.type"]: r["type"]} for r in grp["reserved_regions"]],
            K["group.vfio_node"]: ({K["node.path"]: grp["vfio_node_path"],
                                    K["node.present"]: grp["vfio_node_present"]} if anybound else None),
            K["group.viable"]: grp["viable"],
            K["group.blockers"]: [{K["blocker.device"]: b["device"], K["blocker.driver"]: b["driver"]}
                                  for b in grp["blockers"]],
        })
    return {
        K["schema_version"]: SCHEMA_VERSION,
        K["host"]: {
            K["host.sysroot"]: "/",
            K["host.iommu_units"]: units,
            K["host.iommu_group_count"]: len(t["groups"]),
            K["host.vfio_container"]: {K["node.path"]: "/dev/vfio/vfio",
                                       K["node.present"]: t["vfio_container_present"]},
            K["host.iommufd"]: {K["node.path"]: "/dev/iommu", K["node.present"]: t["iommufd_present"]},
            K["host.interrupt_remapping"]: t["interrupt_remapping"],
            # Only the MSI-isolation refusal is cross-checked (with the kernel's EPERM,
            # when the probe asked; else with the kernel's IR log lines).
            K["host.diagnoses"]: ([{K["diag.severity"]: "error", K["diag.code"]: "interrupt-remapping-disabled",
                                    K["diag.message"]: "interrupt remapping is off", K["diag.hint"]: None}]
                                  if (t.get("msi_isolation") == "refused" if t.get("msi_isolation")
                                      else t["units"] and t["interrupt_remapping"] == "disabled") else []),
        },
        K["devices"]: devices,
        K["groups"]: groups,
        K["warnings"]: [],
    }


def crosscheck(doc, t):
    """Compare a hiodctl list document with the ground truth. Returns a list
    of human-readable mismatches (empty = agrees)."""
    errs = []
    validate(doc, SCHEMA, "$", errs)
    if errs:
        return ["schema: " + e for e in errs]
    exp = synthesize(t)

    def eq(path, got, want):
        if got != want:
            errs.append(f"{path}: hiodctl says {json.dumps(got)}, guest sysfs says {json.dumps(want)}")

    eq("$.schema_version", g(doc, "schema_version"), SCHEMA_VERSION)
    host, ehost = g(doc, "host"), g(exp, "host")
    eq("$.host.sysroot", g(host, "host.sysroot"), "/")
    eq("$.host.iommu_group_count", g(host, "host.iommu_group_count"), g(ehost, "host.iommu_group_count"))
    for key in ("host.vfio_container", "host.iommufd"):
        eq(f"$.host.{K[key]}", g(host, key), g(ehost, key))
    # The guest always shows its interrupt chips: "unknown" is as wrong as the opposite.
    eq("$.host.interrupt_remapping", g(host, "host.interrupt_remapping"), t["interrupt_remapping"])
    units = {g(u, "unit.name"): u for u in g(host, "host.iommu_units")}
    eunits = {g(u, "unit.name"): u for u in g(ehost, "host.iommu_units")}
    eq("$.host.iommu_units[*].name", sorted(units), sorted(eunits))
    for name in sorted(set(units) & set(eunits)):
        u, e = units[name], eunits[name]
        p = f"$.host.iommu_units[{name}]"
        eq(p + "." + K["unit.vendor"], g(u, "unit.vendor"), g(e, "unit.vendor"))
        ev, uv = g(e, "unit.intel_vtd"), g(u, "unit.intel_vtd")
        if ev is None or uv is None:
            eq(p + "." + K["unit.intel_vtd"], uv, ev)
        else:
            eq(p + "." + K["unit.intel_vtd"] + "." + K["vtd.cap"], g(uv, "vtd.cap"), g(ev, "vtd.cap"))
            eq(p + "." + K["unit.intel_vtd"] + "." + K["vtd.ecap"], g(uv, "vtd.ecap"), g(ev, "vtd.ecap"))
            eq(p + "." + K["unit.intel_vtd"] + "." + K["vtd.version"] + " (numbers)",
               re.findall(r"\d+", g(uv, "vtd.version")), re.findall(r"\d+", g(ev, "vtd.version")))
        ea, ua = g(e, "unit.amd_vi"), g(u, "unit.amd_vi")
        if ea is None or ua is None:
            eq(p + "." + K["unit.amd_vi"], ua, ea)
        else:
            eq(p + "." + K["unit.amd_vi"] + "." + K["amd.cap"] + " (value)",
               hexval(g(ua, "amd.cap")), hexval(g(ea, "amd.cap")))
            # sysfs prints one or two fields whose order changed across kernels:
            # accept any hiodctl rendering whose numbers are the truth's numbers.
            eq(p + "." + K["unit.amd_vi"] + "." + K["amd.features"] + " (values)",
               sorted(hexvals(g(ua, "amd.features"))), sorted(hexvals(g(ea, "amd.features"))))

    devs = {g(d, "dev.bdf"): d for d in g(doc, "devices")}
    edevs = {g(d, "dev.bdf"): d for d in g(exp, "devices")}
    eq("$.devices[*].bdf", sorted(devs), sorted(edevs))
    for bdf in sorted(set(devs) & set(edevs)):
        d, e = devs[bdf], edevs[bdf]
        p = f"$.devices[{bdf}]"
        for key in ("dev.domain", "dev.bus", "dev.device", "dev.function", "dev.vendor_id",
                    "dev.device_id", "dev.class", "dev.prog_if", "dev.revision",
                    "dev.subsystem_vendor_id", "dev.subsystem_device_id", "dev.iommu_group",
                    "dev.iommu_unit", "dev.driver", "dev.vfio_bound", "dev.vfio_cdev", "dev.viable"):
            eq(f"{p}.{K[key]}", g(d, key), g(e, key))
        node, enode = g(d, "dev.vfio_group_node"), g(e, "dev.vfio_group_node")
        gid = g(e, "dev.iommu_group")
        if enode is not None or gid is None:
            eq(f"{p}.{K['dev.vfio_group_node']}", node, enode)
        elif node is not None:  # group exists, device not VFIO-bound: optional, but must be right
            grp = t["groups"][str(gid)]
            eq(f"{p}.{K['dev.vfio_group_node']}", node,
               {K["node.path"]: grp["vfio_node_path"], K["node.present"]: grp["vfio_node_present"]})

    grps = {g(x, "group.id"): x for x in g(doc, "groups")}
    egrps = {g(x, "group.id"): x for x in g(exp, "groups")}
    eq("$.groups[*].id", sorted(grps), sorted(egrps))
    for gid in sorted(set(grps) & set(egrps)):
        x, e = grps[gid], egrps[gid]
        p = f"$.groups[{gid}]"
        for key in ("group.type", "group.name", "group.noiommu", "group.reserved_regions",
                    "group.viable"):
            eq(f"{p}.{K[key]}", g(x, key), g(e, key))
        eq(f"{p}.{K['group.devices']}", sorted(g(x, "group.devices")), g(e, "group.devices"))
        keyb = lambda b: (g(b, "blocker.device"), g(b, "blocker.driver") or "")  # noqa: E731
        eq(f"{p}.{K['group.blockers']}", sorted(g(x, "group.blockers"), key=keyb),
           sorted(g(e, "group.blockers"), key=keyb))
        node, enode = g(x, "group.vfio_node"), g(e, "group.vfio_node")
        grp = t["groups"][str(gid)]
        if enode is not None:
            eq(f"{p}.{K['group.vfio_node']}", node, enode)
        elif node is not None:
            eq(f"{p}.{K['group.vfio_node']}", node,
               {K["node.path"]: grp["vfio_node_path"], K["node.present"]: grp["vfio_node_present"]})
    return errs


def refuses_without_msi_isolation(doc):
    """hiodctl's claim that VFIO will refuse devices here (EPERM, no MSI isolation)."""
    return any(g(d, "diag.code") == "interrupt-remapping-disabled" and g(d, "diag.severity") == "error"
               for d in g(g(doc, "host"), "host.diagnoses") or [])


def crosscheck_kernel(doc, t):
    """Compare a hiodctl list document with what the kernel answered (guest/probe):
    every group's viability, and the MSI-isolation refusal."""
    errs = []
    probe = t.get("kernel") or {"groups": {}}
    grps = {str(g(x, "group.id")): x for x in g(doc, "groups") or []}
    for gid, answer in sorted(probe["groups"].items()):
        if "viable" not in answer:
            continue
        if gid not in grps:
            errs.append(f"group {gid}: VFIO_GROUP_GET_STATUS answered, hiodctl lists no such group")
        elif g(grps[gid], "group.viable") != answer["viable"]:
            errs.append(f"$.groups[{gid}].viable: hiodctl says {json.dumps(g(grps[gid], 'group.viable'))}, "
                        f"VFIO_GROUP_GET_STATUS says {json.dumps(answer['viable'])} (flags {answer.get('flags')})")
    if t.get("msi_isolation") is not None:
        claim = refuses_without_msi_isolation(doc)
        kernel = t["msi_isolation"] == "refused"
        if claim != kernel:
            errs.append("$.host.diagnoses: hiodctl " + ("claims" if claim else "does not claim")
                        + " that VFIO refuses devices without MSI isolation; the kernel "
                        + ("refused with EPERM" if kernel else "accepted the attach"))
    return errs


def crosscheck_host(doc, t):
    """Compare a `hiodctl --json host` document with the guest's state: each
    prerequisite's status against what the kernel, sysfs and /dev show."""
    errs = []
    checks = {c.get("id"): c for c in doc.get("checks") or []}
    params = t.get("params") or {}
    def status(cid):
        return (checks.get(cid) or {}).get("status")
    def want(cid, ok, why):
        got = status(cid)
        if got is None:
            errs.append(f"$.checks: no {cid!r} line")
        elif (got == "pass") != ok:
            errs.append(f"{cid}: hiodctl says {got}, the guest says {why}")
    want("iommu", bool(t.get("units")), f"/sys/class/iommu has {sorted(t.get('units') or {}) or 'no unit'}")
    want("dma-remapping", bool(t.get("groups")), f"{len(t.get('groups') or {})} IOMMU groups")
    ir = t.get("interrupt_remapping")
    unsafe = "Y" in (params.get("vfio_iommu_type1/parameters/allow_unsafe_interrupts"),
                     params.get("iommufd/parameters/allow_unsafe_interrupts"))
    if ir in ("enabled", "disabled") and t.get("units"):
        # without remapping the line may still pass when unsafe interrupts are allowed
        if ir == "enabled":
            want("interrupt-remapping", True, "the kernel log says interrupt remapping is enabled")
        elif status("interrupt-remapping") == "pass":
            errs.append("interrupt-remapping: hiodctl says pass, the kernel log has no interrupt remapping")
        if t.get("msi_isolation") == "refused" and status("interrupt-remapping") == "pass":
            errs.append("interrupt-remapping: pass, but the kernel refused an attach with EPERM")
    if "vfio_iommu_type1/parameters/allow_unsafe_interrupts" in params:
        ev = " ".join((checks.get("unsafe-interrupts") or {}).get("evidence") or [])
        v = params["vfio_iommu_type1/parameters/allow_unsafe_interrupts"]
        if f"allow_unsafe_interrupts: {v}" not in ev:
            errs.append(f"unsafe-interrupts: evidence {ev!r} does not show the guest's value {v}")
    if unsafe and ir == "disabled" and status("unsafe-interrupts") == "pass":
        errs.append("unsafe-interrupts: pass, but unsafe interrupts are allowed without remapping")
    noiommu = params.get("vfio/parameters/enable_unsafe_noiommu_mode")
    if noiommu is not None:
        want("noiommu", noiommu == "N", f"enable_unsafe_noiommu_mode={noiommu}")
    want("dev-vfio", bool(t.get("vfio_container_present")), f"/dev/vfio/vfio present={t.get('vfio_container_present')}")
    want("dev-iommu", bool(t.get("iommufd_present")), f"/dev/iommu present={t.get('iommufd_present')}")
    ev = " ".join((checks.get("cmdline") or {}).get("evidence") or [])
    for word in (t.get("cmdline") or "").split():
        if re.match(r"(intel_iommu|amd_iommu|iommu|iommu\.\w+|intremap|vfio\w*\.\w+)=", word) and word not in ev:
            errs.append(f"cmdline: evidence {ev!r} lacks {word}")
    fails = [c for c in checks if status(c) == "fail"]
    if doc.get("ready") is not None and doc.get("ready") != (not fails):
        errs.append(f"$.ready is {doc.get('ready')}, with failing lines {fails}")
    return errs


def is_host_document(j):
    return isinstance(j, dict) and isinstance(j.get("checks"), list) and "ready" in j


def hexval(s):
    try:
        return int(str(s), 16)
    except ValueError:
        return s


def hexvals(s):
    return [int(x, 16) for x in re.findall(r"(?:0x)?([0-9a-fA-F]+)", str(s))]


def parse_probe(text):
    """guest/probe's record: what the kernel answered for every VFIO group and cdev."""
    groups, cdevs = {}, {}
    for line in (text or "").splitlines():
        parts = line.split(" ")
        if len(parts) < 3 or parts[0] not in ("group", "cdev"):
            continue
        d = kv(parts[2:])
        if parts[0] == "group":
            if "viable" in d:
                d["viable"] = d["viable"] == "1"
                d["container_set"] = d.get("container_set") == "1"
            groups[parts[1]] = d
        else:
            cdevs[parts[1]] = d
    return {"groups": groups, "cdevs": cdevs}


def apply_kernel_truth(t, probe):
    """The kernel's answers replace the rig's sysfs rule wherever the kernel was asked:
    VFIO_GROUP_GET_STATUS for viability, VFIO_SET_IOMMU / iommufd attach for MSI
    isolation. Returns the places where the sysfs rule and the kernel disagree."""
    t["kernel"] = probe
    disagreements = []
    for gid, answer in probe["groups"].items():
        grp = t["groups"].get(gid)
        if grp is None or "viable" not in answer:
            continue
        if grp["viable"] != answer["viable"]:
            disagreements.append(f"group {gid}: the sysfs rule says viable={grp['viable']}, "
                                 f"VFIO_GROUP_GET_STATUS says viable={answer['viable']}")
            grp["viable"] = answer["viable"]
        grp["viable_from"] = "kernel"
    refusals = [a.get("set_iommu") for a in probe["groups"].values()] + \
        [a.get("attach") for a in probe["cdevs"].values()]
    if "EPERM" in refusals:
        t["msi_isolation"] = "refused"      # the kernel said EPERM: no MSI isolation
    elif "OK" in refusals:
        t["msi_isolation"] = "accepted"
    else:
        t["msi_isolation"] = None           # never asked (no viable VFIO group)
    return disagreements


# `-trace pci_cfg_write` on the outer QEMU (the rig's TRACE_CFG scenarios).
CFG_WRITE = re.compile(r"pci_cfg_write (\S+) (\S+) @0x([0-9a-f]+) <- 0x([0-9a-f]+)")
MARKER_DEVICE, MARKER_OFFSET, MARKER_LAST = "pci-testdev", 0x40, 255


def cfg_writes(qemu_log, markers):
    """The guest's PCI config-space writes, by guest command: guest/init writes the
    command's number to the marker device's 0x40 before it. "boot" is everything before
    the first command, "after" everything after the last (the probe)."""
    names = {}
    for line in (markers or "").splitlines():
        n, _, name = line.partition(" ")
        if n.isdigit():
            names[int(n)] = name
    segs, cur = {"boot": []}, "boot"
    for line in (qemu_log or "").splitlines():
        m = CFG_WRITE.search(line)
        if not m:
            continue
        dev, addr, off, val = m.groups()
        if dev == MARKER_DEVICE and int(off, 16) == MARKER_OFFSET:
            n = int(val, 16)
            cur = "after" if n == MARKER_LAST else names.get(n, f"marker-{n}")
            segs.setdefault(cur, [])
            continue
        segs[cur].append(f"{dev} {addr} @0x{off} <- 0x{val}")
    return segs


# ============================================================================
# The result document the scenario's jq expectations see
# ============================================================================
def build_doc(sections, name, truth_only, qemu_log=None):
    truth = parse_truth(text_of(sections, "truth") or "", text_of(sections, "dmesg") or "")
    disagreements = apply_kernel_truth(truth, parse_probe(text_of(sections, "probe")))
    cmds = {}
    for sec in sections:
        m = re.match(r"^cmd:(.+):stdout$", sec)
        if not m:
            continue
        cname = m.group(1)
        out = text_of(sections, sec)
        err = text_of(sections, f"cmd:{cname}:stderr") or ""
        try:
            js = json.loads(out)
        except ValueError:
            js = None
        cmds[cname] = {"rc": sections[sec]["rc"], "stdout": out, "stderr": err, "json": js}
    bind = {}
    for line in (text_of(sections, "bind") or "").splitlines():
        p = line.split()
        if len(p) == 3 and p[0] == "bind":
            bind[p[1]] = None if p[2] == "-" else p[2]
    return {
        "scenario": name,
        "truth_only": truth_only,
        "truth": truth,
        "bind": bind,
        "cmds": cmds,
        "list": cmds.get("list", {}).get("json"),
        "interrupts": text_of(sections, "interrupts") or "",
        "dmesg": text_of(sections, "dmesg") or "",
        # Config-space writes by command; null unless the scenario traces them.
        "cfg_writes": cfg_writes(qemu_log, text_of(sections, "markers")) if "markers" in sections else None,
        "rig_disagreements": disagreements,
    }


def jq_true(expr, doc_json):
    """True iff the jq expression yields at least one value and all are true."""
    prog = f"[{expr}] | (length > 0 and all)"
    r = subprocess.run(["jq", "-e", prog], input=doc_json, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        return False, f"jq error: {r.stderr.strip()}"
    return r.returncode == 0, ""


def evaluate(args, sections, done, doc):
    """All checks of one scenario. Returns (failures, notes)."""
    fails, notes = [], []
    if not done:
        m = re.search(r"guest timed out after \d+ s", read_log(getattr(args, "qemu_log", None)) or "")
        fails.append(m.group(0) if m else
                     "guest did not finish (no @@HIOD DONE@@ on the data UART: it crashed or was killed)")
    for cname, c in sorted(doc["cmds"].items()):
        # guest/init runs each command under busybox timeout, which ends it with SIGTERM
        if c["rc"] in (124, 143):
            fails.append(f"command {cname} timed out (exit status {c['rc']}; CMD_TIMEOUT, scaled by "
                         "HIODCTL_RIG_TIMEOUT_SCALE)")
    if "truth" not in sections:
        fails.append("no ground-truth section from the guest")
        return fails, notes
    t = doc["truth"]
    if not t["devices"]:
        fails.append("ground truth lists no PCI device")
    for bdf in args.bind or []:
        got = doc["bind"].get(bdf)
        if got != "vfio-pci" and not args.bind_may_fail:
            fails.append(f"bind: {bdf} is on {got or 'no driver'}, not vfio-pci")
    if args.needs_hiodctl and not args.truth_only:
        c = doc["cmds"].get("list")
        if c is None:
            fails.append("hiodctl list: no output section (command not run?)")
        else:
            if c["rc"] != args.list_rc:
                fails.append(f"hiodctl list: exit status {c['rc']}, expected {args.list_rc}; "
                             f"stderr: {c['stderr'].strip()[:400]}")
            if c["json"] is None:
                fails.append(f"hiodctl list: stdout is not one JSON document: {c['stdout'][:300]!r}")
            else:
                for e in crosscheck(c["json"], t):
                    fails.append("hiodctl vs sysfs: " + e)
                for e in crosscheck_kernel(c["json"], t):
                    fails.append("hiodctl vs kernel: " + e)
    for cname, c in sorted(doc["cmds"].items()):
        if is_host_document(c.get("json")):
            for e in crosscheck_host(c["json"], t):
                fails.append(f"hiodctl {cname} vs the guest: " + e)
        for e in (document_problems(c.get("json")) or [])[:20]:
            fails.append(f"hiodctl {cname} vs the schema: " + e)
    for e in doc.get("rig_disagreements") or []:
        fails.append("rig truth vs kernel: " + e)
    doc_json = json.dumps(doc)
    for expr in args.expect or []:
        if args.truth_only and re.search(r"\.list\b|\.cmds\b", expr):
            notes.append(f"skipped (truth-only): {expr}")
            continue
        ok, why = jq_true(expr, doc_json)
        if not ok:
            fails.append(f"expectation false: {expr}" + (f" ({why})" if why else ""))
    return fails, notes


def read_log(path):
    if not path:
        return None
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def load(args):
    with open(args.data, "r", encoding="utf-8", errors="replace") as f:
        sections, done = parse_sections(f.read())
    return sections, done


def cmd_run(args):
    sections, done = load(args)
    doc = build_doc(sections, args.name, args.truth_only, read_log(args.qemu_log))
    if args.doc_out:
        with open(args.doc_out, "w") as f:
            json.dump(doc, f, indent=1)
    fails, notes = evaluate(args, sections, done, doc)
    for n in notes:
        print(f"  note: {n}")
    for f_ in fails:
        print(f"  FAIL: {f_}")
    return 1 if fails else 0


def invert(expr):
    return f"(({expr}) | not)"


# ---------------------------------------------------------------------------
# Output mutations: proof that an expectation reads what hiodctl printed
# ---------------------------------------------------------------------------
def output_mutants(doc, roots, limit=600):
    """(label, mutated doc) for the subtrees of `doc` an expectation reads (`roots`:
    paths like ("cmds", "caps")): drop a command's output, null, flip, bump or change
    each scalar, drop or swap list elements, drop keys. At most `limit`."""
    out = []

    def add(label, path, fn):
        if len(out) >= limit:
            return
        bad = copy.deepcopy(doc)
        node = bad
        for key in path[:-1]:
            node = node[key]
        if fn(node, path[-1]) is not False:
            out.append((label, bad))

    def walk(node, path, depth):
        if len(out) >= limit or depth > 12:
            return
        if isinstance(node, dict):
            if not node:  # an empty object: one key more breaks "== {}"
                add(f"add to {'/'.join(map(str, path))}", path, lambda n, k: n[k].__setitem__("mutated", 1))
            for key in list(node)[:60]:
                add(f"drop {'/'.join(map(str, path + (key,)))}", path + (key,), lambda n, k: n.pop(k))
                walk(node[key], path + (key,), depth + 1)
        elif isinstance(node, list):
            p = "/".join(map(str, path))
            # One element more (a copy of the first, or a string): breaks "none of them".
            add(f"append to {p}", path, lambda n, k: n[k].append(copy.deepcopy(n[k][0]) if n[k] else "mutated"))
            if node:
                add(f"empty {p}", path, lambda n, k: n.__setitem__(k, []))
                add(f"drop first of {p}", path, lambda n, k: n[k].pop(0))
            if len(node) > 1:
                add(f"drop last of {p}", path, lambda n, k: n[k].pop())
                add(f"swap first two of {p}", path, lambda n, k: n.__setitem__(k, [n[k][1], n[k][0]] + n[k][2:]))
            for i, item in enumerate(node[:3]):
                walk(item, path + (i,), depth + 1)
        else:
            p = "/".join(map(str, path))
            if node is not None:
                add(f"null {p}", path, lambda n, k: n.__setitem__(k, None))
            else:
                add(f"set {p}", path, lambda n, k: n.__setitem__(k, 1))
            if isinstance(node, bool):
                add(f"flip {p}", path, lambda n, k: n.__setitem__(k, not n[k]))
            elif isinstance(node, int):
                add(f"bump {p}", path, lambda n, k: n.__setitem__(k, n[k] + 1))
            elif isinstance(node, str):
                add(f"change {p}", path, lambda n, k: n.__setitem__(k, n[k] + "-mutated" if n[k] else "mutated"))

    for root in roots:
        node = doc
        try:
            for key in root:
                node = node[key]
        except (KeyError, IndexError, TypeError):
            continue
        if root[0] == "cmds" and len(root) == 2:
            # The whole command gone: no output, no exit status.
            add(f"drop output of {root[1]}", root,
                lambda n, k: n.__setitem__(k, {"rc": -1, "stdout": "", "stderr": "", "json": None}))
        walk(node, root, 0)
    return out


def expectation_roots(expr, doc=None):
    """The parts of the result document an expectation reads (`.cmds` as a whole: each
    command of `doc`)."""
    roots = set()
    if doc is not None and re.search(r"\.cmds(?![.\[A-Za-z0-9_])", expr):
        roots.update(("cmds", name) for name in doc.get("cmds") or {})
    for name in re.findall(r"\.cmds\.([A-Za-z0-9_]+)", expr):
        roots.add(("cmds", name))
    for name in re.findall(r'\.cmds\["([^"]+)"\]', expr):
        roots.add(("cmds", name))
    if re.search(r"\.list\b", expr):
        roots.add(("list",))
    for key in ("truth", "bind", "interrupts", "dmesg", "cfg_writes"):
        # `.truth.kernel...`, `.cfg_writes.caps`: the named member only, so the mutation
        # budget is not spent on the rest of a large subtree.
        members = re.findall(r"\." + key + r"\.([A-Za-z0-9_]+)", expr)
        members += re.findall(r"\." + key + r'\["([^"]+)"\]', expr)
        if members:
            roots.update((key, m) for m in members)
        elif re.search(r"\." + key + r"\b", expr):
            roots.add((key,))
    return sorted(roots)


def jq_batch(exprs, docs):
    """For each document, whether each expression holds (one jq process per batch)."""
    prog = "[" + ",".join(f"(try ([{e}] | (length > 0 and all)) catch false)" for e in exprs) + "]"
    payload = "\n".join(json.dumps(d) for d in docs)
    r = subprocess.run(["jq", "-c", prog], input=payload, capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def vacuous_expectations(exps, doc, verbose=False):
    """Expectations no mutation of what they read makes false: they prove nothing.
    Returns (vacuous, mutants tried)."""
    by_root = {}
    for e in exps:
        for root in expectation_roots(e, doc):
            by_root.setdefault(root, []).append(e)
    broken = set()
    tried = 0
    for root, group in sorted(by_root.items()):
        mutants = output_mutants(doc, [root])
        tried += len(mutants)
        for i in range(0, len(mutants), 40):
            pending = [e for e in group if e not in broken]
            if not pending:
                break
            batch = mutants[i:i + 40]
            results = jq_batch(pending, [m for _, m in batch])
            if results is None:
                continue
            for (label, _), verdicts in zip(batch, results):
                for e, holds in zip(pending, verdicts):
                    if not holds and e not in broken:
                        broken.add(e)
                        if verbose:
                            print(f"  expectation broken by {label}: {e[:90]}")
    return [e for e in exps if e not in broken], tried


def cmd_selftest(args):
    """Prove that the checks can fail: on one real guest output, every
    expectation inverted must fail, a wrong bind must fail, and the
    cross-check must accept the synthesized document but reject each
    mutation of it."""
    sections, done = load(args)
    doc = build_doc(sections, args.name, False, read_log(args.qemu_log))
    problems = []
    exps = list(args.expect or [])
    # Every expectation must hold on the real output and be broken by some mutation of
    # what it reads (hiodctl's outputs, or the truth for the rig's own expectations):
    # one that nothing breaks (`true`, a tautology) proves nothing.
    real = copy.copy(args)
    real.truth_only = False
    held, _ = evaluate(real, sections, done, doc)
    if held:
        problems.append(f"the expectations do not hold on the real output: {held[:3]}")
    vacuous, tried = vacuous_expectations(exps, doc, args.verbose)
    for e in vacuous:
        problems.append(f"vacuous expectation (no mutation of what it reads breaks it): {e}")
    # Stand the synthesized document in for hiodctl's output, so that the
    # scenario's hiodctl expectations are exercised as well.
    good = synthesize(doc["truth"])
    doc["cmds"]["list"] = {"rc": 0, "stdout": json.dumps(good), "stderr": "", "json": good}
    doc["list"] = good

    base = copy.copy(args)
    base.needs_hiodctl, base.truth_only = True, False
    # The rig's own (truth) expectations must hold on the synthesized list too.
    base.expect = [e for e in exps if not any(r[0] in ("cmds", "list") for r in expectation_roots(e))]
    f0, _ = evaluate(base, sections, done, doc)
    if f0:
        problems.append(f"the checks fail on the synthesized document: {f0}")
    if not exps:
        problems.append("scenario has no expectation")
    base.expect = []
    a = copy.copy(base)
    a.expect = ['.truth.devices["0000:00:02.0"].driver == "e1000e-this-is-wrong"']
    if not evaluate(a, sections, done, doc)[0]:
        problems.append("a wrong literal expectation did not fail")
    a = copy.copy(base)
    a.expect, a.bind = [], ["0000:00:1f.0"]  # the LPC bridge is never on vfio-pci
    if not evaluate(a, sections, done, doc)[0]:
        problems.append("a wrong bind did not fail")
    a = copy.copy(base)
    a.list_rc = 3
    if not evaluate(a, sections, done, doc)[0]:
        problems.append("a wrong exit status did not fail")

    t = doc["truth"]
    errs = crosscheck(good, t)
    if errs:
        problems.append(f"synthesized document does not cross-check: {errs[:5]}")
    n_mut = 0
    for label, mutate in mutations(good):
        bad = copy.deepcopy(good)
        if not mutate(bad):
            continue
        n_mut += 1
        errs = crosscheck(bad, t)
        if not errs:
            problems.append(f"mutation not detected: {label}")
        elif args.verbose:
            print(f"  mutation {label!r} -> {errs[0]}")
    # The kernel's answers must catch a wrong viability and a wrong MSI-isolation claim.
    for gid, answer in sorted(t.get("kernel", {}).get("groups", {}).items()):
        if "viable" not in answer:
            continue
        bad = copy.deepcopy(good)
        for x in bad[K["groups"]]:
            if str(x[K["group.id"]]) == gid:
                x[K["group.viable"]] = not x[K["group.viable"]]
        if not crosscheck_kernel(bad, t):
            problems.append(f"a wrong viability of group {gid} passes the kernel cross-check")
        n_mut += 1
        break
    if t.get("msi_isolation") is not None:
        bad = copy.deepcopy(good)
        diags = bad[K["host"]][K["host.diagnoses"]]
        if refuses_without_msi_isolation(bad):
            bad[K["host"]][K["host.diagnoses"]] = [d for d in diags if d[K["diag.code"]] != "interrupt-remapping-disabled"]
        else:
            diags.append({K["diag.severity"]: "error", K["diag.code"]: "interrupt-remapping-disabled",
                          K["diag.message"]: "mutated", K["diag.hint"]: None})
        if not crosscheck_kernel(bad, t):
            problems.append("a wrong MSI-isolation claim passes the kernel cross-check")
        n_mut += 1
    # Each host line must be checked against the guest: flipping one must be caught.
    for cname, c in sorted((doc.get("cmds") or {}).items()):
        if not is_host_document(c.get("json")) or crosscheck_host(c["json"], t):
            continue
        covered = {"iommu", "dma-remapping", "dev-vfio", "dev-iommu", "noiommu"}
        if t.get("units") and t.get("interrupt_remapping") == "enabled":
            covered.add("interrupt-remapping")
        for line in c["json"]["checks"]:
            if line.get("id") not in covered:
                continue
            bad = copy.deepcopy(c["json"])
            for x in bad["checks"]:
                if x.get("id") == line["id"]:
                    x["status"] = "fail" if x.get("status") == "pass" else "pass"
            if not crosscheck_host(bad, t):
                problems.append(f"{cname}: a flipped {line['id']!r} line passes the host cross-check")
            n_mut += 1
        break
    # Each other document the guest printed must fit the schema, and stop fitting when
    # its deepest object loses a key or gains one.
    for cname, c in sorted((doc.get("cmds") or {}).items()):
        if cname == "list" or document_problems(c.get("json")) != []:
            continue
        for mutation in ("drop", "add"):
            bad = copy.deepcopy(c["json"])
            deepest = deepest_object(bad)
            if mutation == "drop":
                deepest.pop(sorted(deepest)[0])
            else:
                deepest["not_in_the_schema"] = 1
            if not document_problems(bad):
                problems.append(f"{cname}: a document with a key {mutation}ped passes the schema check")
            n_mut += 1
    # A renamed key must be reported with its name.
    bad = copy.deepcopy(good)
    bad[K["devices"]][0]["group"] = bad[K["devices"]][0].pop(K["dev.iommu_group"])
    errs = crosscheck(bad, t)
    if not any(repr(K["dev.iommu_group"]) in e and "'group'" in e for e in errs):
        problems.append(f"renamed key not reported clearly: {errs[:2]}")
    elif args.verbose:
        print(f"  renamed key -> {errs[0]}")
    for p in problems:
        print(f"  FAIL: {p}")
    print(f"  selftest: {len(exps)} expectations, each broken by one of {tried} output mutations; "
          f"{n_mut} cross-check mutations; {len(problems)} problems")
    return 1 if problems else 0


def mutations(good):
    """(label, function(doc) -> applied?) pairs; each makes the doc wrong."""
    D, G, H = K["devices"], K["groups"], K["host"]

    def dev(doc, pred):
        return next((d for d in doc[D] if pred(d)), None)

    def m_set(getter, key, value):
        def f(doc):
            o = getter(doc)
            if o is None or o.get(key) == value:
                return False
            o[key] = value
            return True
        return f

    bound = lambda d: d[K["dev.vfio_bound"]]  # noqa: E731
    grouped = lambda d: d[K["dev.iommu_group"]] is not None  # noqa: E731
    yield "schema_version 2", m_set(lambda d: d, K["schema_version"], 2)
    yield "group count +1", lambda d: d[H].__setitem__(
        K["host.iommu_group_count"], d[H][K["host.iommu_group_count"]] + 1) or True
    yield "iommufd present flipped", lambda d: d[H][K["host.iommufd"]].__setitem__(
        K["node.present"], not d[H][K["host.iommufd"]][K["node.present"]]) or True
    yield "container present flipped", lambda d: d[H][K["host.vfio_container"]].__setitem__(
        K["node.present"], not d[H][K["host.vfio_container"]][K["node.present"]]) or True
    yield "interrupt remapping flipped", m_set(
        lambda d: d[H], K["host.interrupt_remapping"],
        "disabled" if good[H][K["host.interrupt_remapping"]] == "enabled" else "enabled")
    yield "interrupt remapping unknown", m_set(lambda d: d[H], K["host.interrupt_remapping"], "unknown")
    yield "extra iommu unit", lambda d: d[H][K["host.iommu_units"]].append(
        {K["unit.name"]: "dmar99", K["unit.vendor"]: "intel", K["unit.intel_vtd"]: None,
         K["unit.amd_vi"]: None}) or True

    def vtd_cap(doc):
        for u in doc[H][K["host.iommu_units"]]:
            if u[K["unit.intel_vtd"]]:
                u[K["unit.intel_vtd"]][K["vtd.cap"]] = "0x%016x" % (int(u[K["unit.intel_vtd"]][K["vtd.cap"]], 16) ^ 0x3f0000)
                return True
        return False
    yield "vtd cap MGAW changed", vtd_cap
    yield "vendor wrong", lambda d: bool(d[H][K["host.iommu_units"]]) and (
        d[H][K["host.iommu_units"]][0].__setitem__(K["unit.vendor"], "arm") or True)
    yield "device dropped", lambda d: bool(d[D]) and bool(d[D].pop())
    yield "group of a device +1", m_set(lambda d: dev(d, grouped), K["dev.iommu_group"],
                                        (dev(good, grouped) or {}).get(K["dev.iommu_group"], 0) + 1)
    yield "driver of a bound device", m_set(lambda d: dev(d, bound), K["dev.driver"], "e1000e")
    yield "vfio_bound flipped", m_set(lambda d: dev(d, bound), K["dev.vfio_bound"], False)
    yield "viable flipped", m_set(lambda d: dev(d, grouped), K["dev.viable"],
                                  not (dev(good, grouped) or {}).get(K["dev.viable"], False))
    yield "cdev dropped", m_set(lambda d: dev(d, bound), K["dev.vfio_cdev"], None)
    yield "group node dropped", m_set(lambda d: dev(d, bound), K["dev.vfio_group_node"], None)
    yield "class wrong", m_set(lambda d: d[D][0], K["dev.class"], "ffff")
    yield "vendor id wrong", m_set(lambda d: d[D][0], K["dev.vendor_id"], "1234")
    yield "iommu_unit wrong", m_set(lambda d: dev(d, grouped), K["dev.iommu_unit"], "dmar9")

    def rr(doc):
        for x in doc[G]:
            if x[K["group.reserved_regions"]]:
                x[K["group.reserved_regions"]][0][K["rr.end"]] = "0x00000000fef00000"
                return True
        return False
    yield "reserved region end exclusive", rr

    def blockers(doc):
        for x in doc[G]:
            if x[K["group.blockers"]]:
                x[K["group.blockers"]] = []
                return True
        return False
    yield "blockers dropped", blockers
    yield "group viable flipped", lambda d: bool(d[G]) and (d[G][0].__setitem__(
        K["group.viable"], not d[G][0][K["group.viable"]]) or True)
    yield "group member dropped", lambda d: bool(d[G]) and bool(d[G][0][K["group.devices"]]) and bool(
        d[G][0][K["group.devices"]].pop())
    yield "group type wrong", lambda d: bool(d[G]) and (d[G][0].__setitem__(K["group.type"], "identity-x") or True)
    yield "wrong type (string group id)", lambda d: bool(d[G]) and (
        d[G][0].__setitem__(K["group.id"], str(d[G][0][K["group.id"]])) or True)


def cmd_synth(args):
    sections, _ = load(args)
    t = parse_truth(text_of(sections, "truth") or "", text_of(sections, "interrupts") or "")
    json.dump(synthesize(t), sys.stdout, indent=2)
    print()
    return 0


# ============================================================================
# Capture: guest tarball -> Tests/Fixtures/captured/NAME
# ============================================================================
MAX_FILE = 64 * 1024


def cmd_capture(args):
    sections, done = load(args)
    log = text_of(sections, "capture.log") or ""
    if "capture" not in sections or not done:
        print(f"  FAIL: no capture from the guest (done={done}); guest log:\n{log}")
        return 1
    if sections["capture"]["rc"] != 0:
        print(f"  FAIL: guest capture exited {sections['capture']['rc']}:\n{log}")
        return 1
    dest = os.path.abspath(args.dest)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    with tarfile.open(fileobj=io.BytesIO(sections["capture"]["data"]), mode="r:gz") as tf:
        for m in tf.getmembers():
            if not (m.isdir() or m.isfile() or m.issym()):
                print(f"  FAIL: unexpected member type: {m.name}")
                return 1
            if m.name.startswith("/") or ".." in m.name.split("/"):
                print(f"  FAIL: unsafe member name: {m.name}")
                return 1
        tf.extractall(dest)
    problems = []
    for root, dirs, files in os.walk(dest):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, dest)
            if os.path.islink(p):
                target = os.readlink(p)
                if target.startswith("/"):
                    problems.append(f"absolute symlink {rel} -> {target}")
                real = os.path.realpath(p)
                if not (real == dest or real.startswith(dest + os.sep)):
                    problems.append(f"symlink escapes the capture: {rel} -> {target}")
                elif not os.path.exists(real):
                    problems.append(f"dangling symlink {rel} -> {target}")
            elif os.path.isfile(p):
                size = os.path.getsize(p)
                if size > MAX_FILE and not n == "config":
                    problems.append(f"file over 64 KiB: {rel} ({size} bytes)")
                os.chmod(p, 0o644)
            elif os.path.isdir(p):
                os.chmod(p, 0o755)
    for p in problems:
        print(f"  FAIL: {p}")
    if log.strip():
        print("  guest capture log:\n" + "\n".join("    " + x for x in log.splitlines()))
    write_pci_ids_subset(dest)
    t = parse_truth(text_of(sections, "truth") or "", text_of(sections, "interrupts") or "")
    with open(os.path.join(dest, "truth.json"), "w") as f:
        json.dump(t, f, indent=1, sort_keys=True)
        f.write("\n")
    return 1 if problems else 0


# ============================================================================
# pci.ids subset: a captured tree names its devices the same way on every machine
# ============================================================================
HOST_PCI_IDS = "/usr/share/misc/pci.ids"


def write_pci_ids_subset(dest, database=HOST_PCI_IDS):
    """Writes DEST/usr/share/misc/pci.ids: the entries of the host's pci.ids that the
    tree's functions need (vendor, device, subsystem, class, subclass, prog-if). libpci
    reads a tree's own database first (PCINameSource.forRoot), so the names a golden
    records stay put when the machine's pci.ids is newer or missing."""
    base = os.path.join(dest, "sys/bus/pci/devices")
    wanted_ids, wanted_classes = set(), set()

    def attribute(device, name):
        try:
            with open(os.path.join(base, device, name)) as f:
                return int(f.read().strip(), 16)
        except (OSError, ValueError):
            return None

    for device in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        vendor, dev = attribute(device, "vendor"), attribute(device, "device")
        sub_vendor, sub_device = attribute(device, "subsystem_vendor"), attribute(device, "subsystem_device")
        klass = attribute(device, "class")
        if vendor is not None:
            wanted_ids.add((vendor,))
            if dev is not None:
                wanted_ids.add((vendor, dev))
                if sub_vendor is not None and sub_device is not None:
                    wanted_ids.add((vendor, dev, sub_vendor, sub_device))
        if sub_vendor is not None:
            wanted_ids.add((sub_vendor,))
        if klass is not None:
            wanted_classes.update({(klass >> 16,), (klass >> 16, (klass >> 8) & 0xff),
                                   (klass >> 16, (klass >> 8) & 0xff, klass & 0xff)})
    lines = [f"# pci.ids subset written by Tests/vm/check.py pci-ids from {database}\n"]
    with open(database, encoding="utf-8", errors="replace") as f:
        version = ""
        vendor = device = klass = subclass = None
        in_classes = False
        for line in f:
            if line.startswith("#"):
                if "Version:" in line and not version:
                    version = line.strip()
                    lines.append(line)
                continue
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip("\t"))
            body = line.strip("\n").lstrip("\t")
            if depth == 0:
                in_classes = body.startswith("C ")
                if in_classes:
                    klass, subclass = int(body[2:4], 16), None
                    if (klass,) in wanted_classes:
                        lines.append(line)
                else:
                    try:
                        vendor, device = int(body[:4], 16), None
                    except ValueError:
                        vendor = None  # the device-type sections after the classes
                        continue
                    if (vendor,) in wanted_ids:
                        lines.append(line)
                continue
            if in_classes:
                if depth == 1:
                    subclass = int(body[:2], 16)
                    if (klass, subclass) in wanted_classes:
                        lines.append(line)
                elif depth == 2 and (klass, subclass, int(body[:2], 16)) in wanted_classes:
                    lines.append(line)
                continue
            if vendor is None:
                continue
            if depth == 1:
                device = int(body[:4], 16)
                if (vendor, device) in wanted_ids:
                    lines.append(line)
            elif depth == 2 and device is not None:
                parts = body.split()
                key = (vendor, device, int(parts[0], 16), int(parts[1], 16))
                if key in wanted_ids:
                    lines.append(line)
    out = os.path.join(dest, "usr/share/misc/pci.ids")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.writelines(lines)
    return out


def cmd_pci_ids(args):
    for dest in args.trees:
        print(write_pci_ids_subset(dest, args.database))
    return 0


# ============================================================================
# newc cpio writer (no root needed for /dev/console)
# ============================================================================
def cmd_cpio(args):
    root = os.path.abspath(args.root)
    out = open(args.out, "wb")
    ino = [1000]

    def entry(name, mode, data=b"", rdev=(0, 0), nlink=1):
        ino[0] += 1
        nameb = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            ino[0], mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(nameb), 0))
        out.write(hdr.encode() + nameb)
        out.write(b"\0" * ((4 - (110 + len(nameb)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))

    names = []
    for r, dirs, files in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + files):
            names.append(os.path.join(r, n))
    for p in names:
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            entry(rel, stat.S_IFLNK | 0o777, os.readlink(p).encode())
        elif stat.S_ISDIR(st.st_mode):
            entry(rel, stat.S_IFDIR | 0o755, nlink=2)
        elif stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                entry(rel, stat.S_IFREG | (st.st_mode & 0o777), f.read())
    if not os.path.isdir(os.path.join(root, "dev")):
        entry("dev", stat.S_IFDIR | 0o755, nlink=2)
    entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    entry("TRAILER!!!", 0, nlink=1)
    out.write(b"\0" * ((512 - out.tell() % 512) % 512))
    out.close()
    return 0


def json_diff(a, b, path="$", out=None, limit=8):
    """Paths where two JSON values differ (at most `limit`)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'missing live' if k not in a else 'missing from --host'}")
            else:
                json_diff(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            json_diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b:
        out.append(f"{path}: live {json.dumps(a)[:160]}, --host {json.dumps(b)[:160]}")
    return out


def cmd_snapshot_live(args):
    """The guest's snapshot, read outside it with --host, must give the answers the guest
    gave live: every `hiodctl --json caps|check ...` guest command (plain ones, no shell)
    is replayed against the snapshot and its exit status and devices compared. Commands
    that need a backend the snapshot did not record are skipped, and said so."""
    with open(args.result) as f:
        doc = json.load(f)
    snap = (doc["cmds"].get("snapshot") or {}).get("json")
    if not snap:
        return 0
    recorded = set()
    recorded_bdfs = set()
    for entry in snap.get("caps") or []:
        recorded |= set((entry.get("backends") or {}).keys())
        recorded_bdfs.add(entry.get("bdf"))
    commands = {}
    for line in args.command or []:
        name, _, cmd = line.partition(":")
        commands[name.strip()] = cmd.strip()
    fails, compared, skipped, unrecorded = [], 0, [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "snapshot.json")
        with open(path, "w") as f:
            json.dump(snap, f)
        for name, cmd in sorted(commands.items()):
            words = cmd.split()
            if (len(words) < 4 or words[:2] != ["hiodctl", "--json"] or words[2] not in ("caps", "check")
                    or re.search(r"[;&|<>$`()]", cmd) or name not in doc["cmds"]):
                continue
            needs_iommufd = re.search(r"iommufd|--x-flts|--fsts|--accel", cmd)
            if needs_iommufd and "iommufd" not in recorded:
                skipped.append(name)
                continue
            live = doc["cmds"][name]
            # A snapshot records the VFIO-bound devices only (what QEMU can be given); a
            # command about another device answers "not recorded" there, by design.
            named = [w for w in words[3:] if re.fullmatch(r"([0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", w)]
            named = [w if len(w) > 7 else "0000:" + w for w in named]
            if any(b not in recorded_bdfs for b in named):
                unrecorded.append(name)
                continue
            try:
                r = subprocess.run([args.hiodctl, "--json", "--host", path] + words[2:],
                                   capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                fails.append(f"{name}: command hiodctl --host timed out after 120 s")
                continue
            try:
                replay = json.loads(r.stdout)
            except ValueError:
                fails.append(f"{name}: --host printed no JSON (exit {r.returncode}): {r.stderr.strip()[:200]}")
                continue
            compared += 1
            if r.returncode != live["rc"]:
                fails.append(f"{name}: exit status live {live['rc']}, --host {r.returncode}")
            diffs = json_diff((live["json"] or {}).get("devices"), replay.get("devices"), "$.devices")
            for key in ("verdict", "status"):
                if key in replay or key in (live["json"] or {}):
                    json_diff((live["json"] or {}).get(key), replay.get(key), f"$.{key}", diffs)
            for d in diffs:
                fails.append(f"{name}: {d}")
    for f_ in fails:
        print(f"  FAIL: snapshot vs live: {f_}")
    print(f"  snapshot vs live: {compared} commands replayed with --host"
          + (f", {len(skipped)} skipped (need iommufd, not recorded): {' '.join(skipped)}" if skipped else "")
          + (f", {len(unrecorded)} skipped (a device the snapshot does not record: not VFIO-bound): "
             f"{' '.join(unrecorded)}" if unrecorded else ""))
    return 1 if fails else 0


def cmd_section(args):
    """Write one section's payload to a file (exit 1 when the guest did not send it)."""
    sections, _ = load(args)
    sec = sections.get(args.section)
    with open(args.out, "wb") as f:
        f.write(sec["data"] if sec else b"")
    return 0 if sec else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "selftest"):
        p = sub.add_parser(name)
        p.add_argument("--data", required=True)
        p.add_argument("--name", default="?")
        p.add_argument("--bind", action="append")
        p.add_argument("--expect", action="append")
        p.add_argument("--needs-hiodctl", action="store_true")
        p.add_argument("--truth-only", action="store_true")
        p.add_argument("--bind-may-fail", action="store_true")
        p.add_argument("--list-rc", type=int, default=0)
        p.add_argument("--doc-out")
        p.add_argument("--qemu-log", help="the outer QEMU's output (config-write trace)")
        p.add_argument("--verbose", action="store_true")
    p = sub.add_parser("synth")
    p.add_argument("--data", required=True)
    p = sub.add_parser("capture")
    p.add_argument("--data", required=True)
    p.add_argument("--dest", required=True)
    p = sub.add_parser("snapshot-live")
    p.add_argument("--result", required=True)
    p.add_argument("--hiodctl", required=True)
    p.add_argument("--command", action="append", help="NAME: COMMAND, as in the scenario's GUEST")
    p = sub.add_parser("pci-ids", help="write a captured tree's pci.ids subset from the host's database")
    p.add_argument("--database", default=HOST_PCI_IDS)
    p.add_argument("trees", nargs="+")
    p = sub.add_parser("section")
    p.add_argument("--data", required=True)
    p.add_argument("--section", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("cpio")
    p.add_argument("root")
    p.add_argument("out")
    args = ap.parse_args()
    return {"run": cmd_run, "selftest": cmd_selftest, "synth": cmd_synth,
            "capture": cmd_capture, "cpio": cmd_cpio, "pci-ids": cmd_pci_ids, "section": cmd_section,
            "snapshot-live": cmd_snapshot_live}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
