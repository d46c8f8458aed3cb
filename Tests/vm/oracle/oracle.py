#!/usr/bin/env python3
"""The QEMU oracle: real QEMU judges every `hiodctl check` verdict.

A cell is one QEMU invocation inside the rig's guest, whose own (emulated) IOMMU is
the "host" IOMMU: `qemu-system-x86_64 -M q35 -accel tcg -m 128 -nodefaults -display
none -S -monitor stdio <vIOMMU> [-object iommufd,id=fd0] -device vfio-pci,host=BDF...`
with `quit` on the monitor. Exit 0 means QEMU accepted it; otherwise its error line
is the verdict. "run" cells boot an inner guest with the assigned NIC and let it
transmit, for the configurations QEMU accepts but whose DMA then fails. In the same
boot hiodctl checks the same configuration, once with flags and once with the QEMU
command line itself (`check -- ARGV`). The two answers are compared here.

  oracle.py host-env KIND                 shell assignments of the outer machine
  oracle.py kinds                         the host kinds
  oracle.py cells KIND RELEASE SUBSET OUT write /rig/cells and OUT.meta.json
  oracle.py judge META TGZ OUT            decode one boot's results, judge each cell
  oracle.py report [--table FILE] RESULT...   agreement table; exit 1 on disagreement
  oracle.py record RESULT... DIR          QEMU's recorded answers as test fixtures

Only the standard library is used.
"""
import io
import json
import os
import re
import shlex
import sys
import tarfile

# ---------------------------------------------------------------------------
# The outer machines ("host kinds"): the IOMMU the inner QEMU's host has.
# Roles: A, B: two single-function devices in groups of their own, on vfio-pci;
# MF0, MF1: two functions of one viable group (both on vfio-pci); NV: a vfio-pci
# function whose group is not viable; H: its sibling, on the host driver e1000e.
# ---------------------------------------------------------------------------
DEVICES = [
    "e1000e,addr=03.0",
    "e1000e,addr=04.0",
    "pcie-root-port,id=rp1,chassis=1,addr=05.0",
    "e1000e,bus=rp1,addr=00.0,multifunction=on",
    "e1000e,bus=rp1,addr=00.1",
    "pcie-root-port,id=rp2,chassis=2,addr=06.0",
    "e1000e,bus=rp2,addr=00.0,multifunction=on",
    "e1000e,bus=rp2,addr=00.1",
]
ROLES = {
    "A": "0000:00:03.0",
    "B": "0000:00:04.0",
    "MF0": "0000:01:00.0",
    "MF1": "0000:01:00.1",
    "NV": "0000:02:00.0",
    "H": "0000:02:00.1",
}
BIND = ["A", "B", "MF0", "MF1", "NV"]

INTEL = "intel-iommu,caching-mode=on,intremap=on"
KINDS = {
    "intel-aw39": dict(desc="VT-d, 39-bit", iommu=INTEL + ",aw-bits=39", append="intel_iommu=on"),
    "intel-aw48": dict(desc="VT-d, 48-bit", iommu=INTEL + ",aw-bits=48", append="intel_iommu=on"),
    "intel-sm": dict(desc="VT-d, 48-bit, scalable mode", iommu=INTEL + ",aw-bits=48,x-scalable-mode=on",
                     append="intel_iommu=on,sm_on"),
    "amd": dict(desc="AMD-Vi", iommu="amd-iommu,intremap=on", append=""),
    "virtio": dict(desc="virtio-iommu, no MSI isolation", iommu="virtio-iommu-pci,addr=0a.0", append=""),
    "virtio-unsafe": dict(desc="virtio-iommu, allow_unsafe_interrupts=1", iommu="virtio-iommu-pci,addr=0a.0",
                          append="vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"),
}

# ---------------------------------------------------------------------------
# Configurations of the inner vIOMMU. Each is (name, model, properties, machine,
# flags); properties are QEMU's, in QEMU's spelling for the release (a property a
# release lacks is part of the test: QEMU says "Property ... not found").
# ---------------------------------------------------------------------------
RELEASES = ["7.2", "10.0", "11.1"]


def intel_names(release):
    """(scalable-mode, first-stage) property names of the release."""
    return ("scalable-mode", "fsts") if release == "11.1" else ("x-scalable-mode", "x-flts")


def configurations(release):
    sm, fl = intel_names(release)
    old_sm, old_fl = ("x-scalable-mode", "x-flts")
    c = [("none", None, [], None)]
    # intel-iommu
    c += [
        ("intel-bare", "intel", [], None),
        ("intel-cm", "intel", [("caching-mode", "on")], None),
        ("intel-cm-aw39", "intel", [("caching-mode", "on"), ("aw-bits", "39")], None),
        ("intel-cm-aw48", "intel", [("caching-mode", "on"), ("aw-bits", "48")], None),
        ("intel-cm-aw52", "intel", [("caching-mode", "on"), ("aw-bits", "52")], None),
        ("intel-cmoff-aw39", "intel", [("caching-mode", "off"), ("aw-bits", "39")], None),
        ("intel-cm-sm", "intel", [("caching-mode", "on"), (sm, "on")], None),
        ("intel-cm-sm-aw52", "intel", [("caching-mode", "on"), (sm, "on"), ("aw-bits", "52")], None),
        ("intel-fl", "intel", [("caching-mode", "on"), (sm, "on"), (fl, "on"), ("aw-bits", "48")], None),
        ("intel-fl-aw39", "intel", [("caching-mode", "on"), (sm, "on"), (fl, "on"), ("aw-bits", "39")], None),
        ("intel-fl-nosm", "intel", [("caching-mode", "on"), (fl, "on"), ("aw-bits", "48")], None),
        ("intel-fl-fs1gp-off", "intel",
         [("caching-mode", "on"), (sm, "on"), (fl, "on"), ("aw-bits", "48"), ("fs1gp", "off")], None),
        ("intel-cm-q35-7.2", "intel", [("caching-mode", "on")], "pc-q35-7.2"),
        ("intel-cm-q35-9.1", "intel", [("caching-mode", "on")], "pc-q35-9.1"),
        ("intel-cm-q35-9.2", "intel", [("caching-mode", "on")], "pc-q35-9.2"),
    ]
    if release == "11.1":
        # the 10.x spellings, gone in 11.1
        c += [("intel-cm-xsm", "intel", [("caching-mode", "on"), (old_sm, "on")], None),
              ("intel-xfl", "intel", [("caching-mode", "on"), (old_sm, "on"), (old_fl, "on"),
                                      ("aw-bits", "48")], None)]
    else:
        c += [("intel-cm-newsm", "intel", [("caching-mode", "on"), ("scalable-mode", "on")], None)]
    # virtio-iommu
    c += [
        ("virtio", "virtio", [], None),
        ("virtio-aw39", "virtio", [("aw-bits", "39")], None),
        ("virtio-aw48", "virtio", [("aw-bits", "48")], None),
        ("virtio-aw64", "virtio", [("aw-bits", "64")], None),
        ("virtio-aw31", "virtio", [("aw-bits", "31")], None),
        ("virtio-4k", "virtio", [("granule", "4k")], None),
        ("virtio-64k", "virtio", [("granule", "64k")], None),
        ("virtio-host", "virtio", [("granule", "host")], None),
        ("virtio-q35-8.2", "virtio", [], "pc-q35-8.2"),
        ("virtio-q35-7.2", "virtio", [], "pc-q35-7.2"),
    ]
    # amd-iommu
    c += [
        ("amd", "amd", [], None),
        ("amd-dma-remap", "amd", [("dma-remap", "on")], None),
    ]
    return c


# Device sets: a list of roles, one vfio-pci each, in order.
DEVICE_SETS = {
    "one": ["A"],
    "two": ["A", "B"],
    "twice": ["A", "A"],
    "group": ["MF0", "MF1"],
    "nonviable": ["NV"],
    "hostdriver": ["H"],
    # A and B behind one PCIe-to-PCI bridge of the guest: their DMA aliases to the bridge
    "bridge": ["A", "B"],
}
# Device sets only a QEMU command line can say (no flags form).
TOPOLOGY_SETS = {"bridge"}
# The configurations every device set is tried with (the others get "one" only).
WIDE = {"none", "intel-cm", "intel-cm-aw39", "intel-fl", "virtio", "amd-dma-remap", "amd"}

# Runtime cells: QEMU starts these; does the device's DMA then work?
RUNTIME = [
    # (host kind, release, configuration name)
    ("amd", "11.1", "amd"),
    ("amd", "11.1", "amd-dma-remap"),
    ("intel-aw39", "7.2", "intel-cm-aw48"),
    ("intel-aw39", "11.1", "intel-cm-aw39"),
]

# The CI subset: at least one cell of every kind of the matrix (every model, both
# backends, every device set, machine types, a runtime cell), on two host kinds.
CI_KINDS = ["intel-aw39", "virtio"]
CI_CONFIGS = {"none", "intel-bare", "intel-cm", "intel-cm-aw48", "intel-cm-aw52", "intel-fl", "intel-cm-q35-9.1",
              "intel-cm-xsm", "intel-cm-newsm", "virtio", "virtio-aw31", "virtio-q35-8.2", "amd", "amd-dma-remap"}
CI_RUNTIME = [("intel-aw39", "7.2", "intel-cm-aw48")]

FLAG_NAMES = {
    "caching-mode": "--caching-mode", "aw-bits": "--aw-bits", "x-scalable-mode": "--x-scalable-mode",
    "scalable-mode": "--scalable-mode", "granule": "--granule", "dma-remap": "--dma-remap",
    "fs1gp": "--fs1gp",
}


def viommu_device(model, props):
    dev = {"intel": "intel-iommu", "virtio": "virtio-iommu-pci", "amd": "amd-iommu"}[model]
    return ",".join([dev] + [f"{k}={v}" for k, v in props])


def qemu_argv(release, model, props, machine, roles, backend, mode, bridge=False):
    """The inner QEMU's arguments (after the program name)."""
    # 128 MiB is QEMU's default RAM, which hiodctl's flags stand for: the listener's
    # dma_map messages print the RAM size, so both forms must see the same VM.
    argv = ["-M", machine or "q35", "-accel", "tcg", "-m", "128", "-nodefaults",
            "-display", "none"]
    if mode == "start":
        argv += ["-S", "-monitor", "stdio"]
    else:
        argv += ["-serial", "stdio", "-monitor", "none", "-no-reboot", "-kernel", "/rig/bzImage",
                 "-initrd", "/rig/inner.cpio", "-append",
                 "console=ttyS0 quiet panic=-1" + (" intel_iommu=on" if model == "intel" else "")]
    if model:
        argv += ["-device", viommu_device(model, props)]
    if backend == "iommufd":
        argv += ["-object", "iommufd,id=fd0"]
    if bridge:
        argv += ["-device", "pcie-pci-bridge,id=br0,bus=pcie.0,addr=0x8"]
    for n, role in enumerate(roles):
        option = f"vfio-pci,host={ROLES[role]}" + (",iommufd=fd0" if backend == "iommufd" else "")
        if bridge:
            option += f",bus=br0,addr={n + 1}"
        argv += ["-device", option]
    return argv


def hiodctl_flags(release, model, props, machine, roles, backend):
    """The same configuration as hiodctl flags, or None when flags cannot say it."""
    args = ["--json", "check", "--viommu", model or "none", "--qemu", release, "--backend", backend]
    if machine:
        args += ["--machine", machine]
    for k, v in props:
        if k in ("x-flts", "fsts"):
            if v != "on":
                return None
            args.append("--" + k)
        elif k in FLAG_NAMES:
            args += [FLAG_NAMES[k], v]
        else:
            return None
    if model == "intel" and not any(k == "caching-mode" for k, _ in props):
        # flags assume caching-mode=on; QEMU's own default is off: say it explicitly
        args += ["--caching-mode", "off"]
    return args + [ROLES[r] for r in roles]


def cells(kind, release, subset):
    out = []
    configs = configurations(release)
    for name, model, props, machine in configs:
        if subset == "ci" and name not in CI_CONFIGS:
            continue
        for backend in ("legacy", "iommufd"):
            sets = DEVICE_SETS if name in WIDE else {"one": DEVICE_SETS["one"]}
            for set_name, roles in sets.items():
                if subset == "ci" and name != "none" and set_name not in ("one",) and name != "intel-cm" \
                        and not (name == "virtio" and set_name == "bridge"):
                    continue
                cid = f"{name}.{backend}.{set_name}"
                bridge = set_name in TOPOLOGY_SETS
                argv = qemu_argv(release, model, props, machine, roles, backend, "start", bridge=bridge)
                flags = None if bridge else hiodctl_flags(release, model, props, machine, roles, backend)
                out.append(dict(id=cid, kind=kind, release=release, mode="start", config=name, model=model,
                                props=props, machine=machine, backend=backend, devices=set_name,
                                bdfs=[ROLES[r] for r in roles], qemu=argv, flags=flags))
    runtime = CI_RUNTIME if subset == "ci" else RUNTIME
    for rkind, rrel, rname in runtime:
        if (rkind, rrel) != (kind, release):
            continue
        for name, model, props, machine in configs:
            if name != rname:
                continue
            argv = qemu_argv(release, model, props, machine, ["A"], "legacy", "run")
            flags = hiodctl_flags(release, model, props, machine, ["A"], "legacy")
            out.append(dict(id=f"{name}.legacy.run", kind=kind, release=release, mode="run", config=name,
                            model=model, props=props, machine=machine, backend="legacy", devices="one",
                            bdfs=[ROLES["A"]], qemu=argv, flags=flags))
    return out


def write_cells(kind, release, subset, path):
    cs = cells(kind, release, subset)
    with open(path, "w") as f:
        for c in cs:
            invocations = []
            if c["flags"]:
                invocations.append(" ".join(shlex.quote(a) for a in c["flags"]))
            # the QEMU command line itself, as `check -- ARGV` reads it
            argv_form = ["--json", "check", "--qemu", release, "--"] + ["qemu-system-x86_64"] + c["qemu"]
            invocations.append(" ".join(shlex.quote(a) for a in argv_form))
            c["invocations"] = ["flags" if c["flags"] else None, "argv"]
            c["invocations"] = [i for i in c["invocations"] if i]
            f.write("\t".join([c["id"], release, c["mode"], " ".join(shlex.quote(a) for a in c["qemu"])]
                              + invocations) + "\n")
    with open(path + ".meta.json", "w") as f:
        json.dump(dict(kind=kind, release=release, subset=subset, cells=cs), f, indent=1)
    return len(cs)


# ---------------------------------------------------------------------------
# Judging
# ---------------------------------------------------------------------------
PROG = "qemu-system-x86_64: "


def qemu_verdict(cell, rc, text, dmesg):
    """QEMU's answer: (verdict, error line, hint lines, evidence)."""
    # The monitor's prompt and its line editing (7.2 prints the prompt before the
    # machine is done) are not part of QEMU's messages.
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    lines = []
    for l in text.splitlines():
        while l.startswith("(qemu) "):
            l = l[len("(qemu) "):]
        if l.strip() and not l.startswith("QEMU ") and not re.fullmatch(r"\(qemu\)\s*q?u?i?t?\s*", l):
            lines.append(l)
    errors = [l for l in lines if l.startswith(PROG) and not l[len(PROG):].startswith("warning:")]
    if cell["mode"] == "run":
        inner = {}
        for l in lines:
            m = re.match(r".*@@INNER (\w+) (.*)@@", l)
            if m:
                inner[m.group(1)] = m.group(2)
        if rc != 0 and not inner:
            if errors:
                return "refuses", strip_location(errors[-1]), [], []
            return "unknown", None, [], [f"inner guest did not report (rc {rc})"]
        tx = int(inner.get("tx_packets", "0") or 0)
        rx = int(inner.get("rx_packets", "0") or 0)
        faults = [l for l in dmesg.splitlines() if "DMAR" in l or "AMD-Vi" in l and "fault" in l.lower()]
        evidence = [f"inner guest: tx_packets {tx}, rx_packets {rx}"]
        evidence += [l.strip() for l in lines if "NETDEV WATCHDOG" in l][:1]
        evidence += faults[:2]
        ok = tx > 0 and rx > 0 and inner.get("ping") == "ok"
        return ("works" if ok else "dma-fails"), None, [], evidence
    if rc == 0:
        return "starts", None, [], []
    if rc == 124 or rc == 137:
        return "unknown", None, [], ["QEMU timed out"]
    if not errors:
        return "unknown", None, [], [f"exit {rc} without an error line: {lines[-1:] if lines else ''}"]
    # The fatal error is the last one: QEMU under TCG first reports "KVM VFIO device
    # isn't created yet" (no KVM in the guest), which does not stop it.
    err = errors[-1]
    idx = len(lines) - 1 - lines[::-1].index(err)
    hints = [l for l in lines[idx + 1:] if not l.startswith(PROG)]
    return "refuses", strip_location(err), hints, []


def strip_location(line):
    """QEMU's message without the program name and the option location."""
    rest = line[len(PROG):] if line.startswith(PROG) else line
    m = re.match(r"^(-(?:device|object|machine|M|global) [^ ]+?): (.*)$", rest)
    return m.group(2) if m else rest


def hiodctl_verdict(doc):
    """hiodctl's answer from its JSON: (verdict, QEMU's first error as hiodctl predicts it)."""
    if doc is None:
        return "error", None
    verdict = doc.get("verdict") or {"pass": "works", "fail": "refuses"}.get(doc.get("status"), "undetermined")
    error = doc.get("qemu_error") or {}
    return verdict, error.get("message")


PLACEHOLDERS = {"<fd>": r"\d+", "<id>": r"\d+", "<ptr>": r"0x[0-9a-f]+"}


def message_matches(predicted, actual):
    """Exact match, except for the values a QEMU process invents (<fd>, <id>, <ptr>)."""
    if predicted is None or actual is None:
        return predicted == actual
    if predicted == actual:
        return True
    pattern = re.escape(predicted)
    for name, regex in PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape(name), regex)
    return re.fullmatch(pattern, actual) is not None


def judge(meta_path, tgz_path, out_path):
    with open(meta_path) as f:
        meta = json.load(f)
    files = {}
    with open(tgz_path, "rb") as f:
        data = f.read()
    if data:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for m in tar.getmembers():
                if m.isfile():
                    files[m.name.lstrip("./")] = tar.extractfile(m).read().decode("utf-8", "replace")
    results = []
    for c in meta["cells"]:
        cid = c["id"]
        rc_text = files.get(f"{cid}/qemu.rc")
        r = dict(c)
        if rc_text is None:
            r.update(qemu_verdict="missing", qemu_error=None, answers=[])
            results.append(r)
            continue
        rc = int(rc_text.strip() or 1)
        verdict, error, hints, evidence = qemu_verdict(c, rc, files.get(f"{cid}/qemu.err", ""),
                                                       files.get(f"{cid}/dmesg", ""))
        r.update(qemu_rc=rc, qemu_output=files.get(f"{cid}/qemu.err", "")[-4000:], qemu_verdict=verdict,
                 qemu_error=error, qemu_hints=hints, qemu_evidence=evidence,
                 seconds=int((files.get(f"{cid}/seconds") or "0").strip() or 0))
        answers = []
        for n, form in enumerate(c.get("invocations", [])):
            out = files.get(f"{cid}/hiod.{n}.out")
            err = files.get(f"{cid}/hiod.{n}.err", "")
            hrc = int((files.get(f"{cid}/hiod.{n}.rc") or "-1").strip() or -1)
            try:
                doc = json.loads(out) if out else None
            except ValueError:
                doc = None
            hv, hm = hiodctl_verdict(doc)
            if doc is None:
                hm = err.strip().splitlines()[0] if err.strip() else None
            answers.append(dict(form=form, rc=hrc, verdict=hv, message=hm, stderr=err[-2000:],
                                agree=agree(verdict, hv), exact=exact(verdict, error, hv, hm)))
        r["answers"] = answers
        results.append(r)
    with open(out_path, "w") as f:
        json.dump(dict(kind=meta["kind"], release=meta["release"], subset=meta["subset"],
                       qemu_version=files.get("QEMU_VERSION", "").strip(), cells=results), f, indent=1)
    return results


def agree(qemu, hiod):
    """A start cell only shows whether QEMU starts; a run cell also whether DMA works."""
    if qemu in ("unknown", "missing"):
        return None
    if qemu == "starts":
        return hiod in ("works", "dma-fails")
    return hiod == qemu


def exact(qverdict, qerror, hverdict, hmessage):
    if qverdict != "refuses":
        return None
    return hverdict == "refuses" and message_matches(hmessage, qerror)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def load_expected_differences():
    """Cells whose disagreement is understood: Tests/vm/oracle/differences.json."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "differences.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def known_difference(diffs, kind, release, cell_id, form, what):
    for d in diffs:
        if re.fullmatch(d["cell"], cell_id) and re.fullmatch(d.get("kind", ".*"), kind) \
                and re.fullmatch(d.get("release", ".*"), release) and d.get("form", form) == form \
                and d.get("what", what) == what:
            return d
    return None


def report(paths, table_out=None, verbose=True):
    diffs = load_expected_differences()
    rows = {}
    problems = []
    versions = {}
    for p in paths:
        with open(p) as f:
            res = json.load(f)
        kind, rel = res["kind"], res["release"]
        versions[rel] = res.get("qemu_version") or versions.get(rel, "")
        for c in res["cells"]:
            for a in c.get("answers", []):
                key = (rel, kind, a["form"])
                row = rows.setdefault(key, dict(cells=0, verdicts=0, agree=0, refusals=0, exact=0,
                                                undetermined=0, unknown=0))
                row["cells"] += 1
                if c["qemu_verdict"] in ("unknown", "missing"):
                    row["unknown"] += 1
                    problems.append((kind, rel, c["id"], a["form"], "qemu",
                                     f"QEMU gave no verdict: {c.get('qemu_evidence')}", None))
                    continue
                row["verdicts"] += 1
                if a["verdict"] == "undetermined":
                    row["undetermined"] += 1
                if a["agree"]:
                    row["agree"] += 1
                else:
                    problems.append((kind, rel, c["id"], a["form"], "verdict",
                                     f"QEMU {c['qemu_verdict']}: {c.get('qemu_error')}; hiodctl {a['verdict']}"
                                     f" (rc {a['rc']}): {a['message']}",
                                     known_difference(diffs, kind, rel, c["id"], a["form"], "verdict")))
                if c["qemu_verdict"] == "refuses":
                    row["refusals"] += 1
                    if a["exact"]:
                        row["exact"] += 1
                    elif a["agree"]:
                        problems.append((kind, rel, c["id"], a["form"], "message",
                                         f"QEMU: {c.get('qemu_error')!r}\n      hiodctl: {a['message']!r}",
                                         known_difference(diffs, kind, rel, c["id"], a["form"], "message")))
    lines = ["| QEMU | host kind | input | cells | verdicts agree | refusals quoted exactly | undetermined |",
             "|---|---|---|---:|---:|---:|---:|"]
    tot = dict(cells=0, verdicts=0, agree=0, refusals=0, exact=0, undetermined=0)
    for (rel, kind, form) in sorted(rows, key=lambda k: (RELEASES.index(k[0]) if k[0] in RELEASES else 9, k[1], k[2])):
        r = rows[(rel, kind, form)]
        for k in tot:
            tot[k] += r[k]
        lines.append(f"| {versions.get(rel) or rel} | {kind} | {form} | {r['cells']} | {r['agree']}/{r['verdicts']}"
                     f" | {r['exact']}/{r['refusals']} | {r['undetermined']} |")
    pct = lambda a, b: f"{100.0 * a / b:.1f}%" if b else "-"
    lines.append(f"| **all** | | | {tot['cells']} | {tot['agree']}/{tot['verdicts']} ({pct(tot['agree'], tot['verdicts'])})"
                 f" | {tot['exact']}/{tot['refusals']} ({pct(tot['exact'], tot['refusals'])}) | {tot['undetermined']} |")
    table = "\n".join(lines)
    print(table)
    if table_out:
        with open(table_out, "w") as f:
            f.write(table + "\n")
    unexplained = [p for p in problems if p[6] is None]
    explained = [p for p in problems if p[6] is not None]
    if verbose and explained:
        print(f"\n{len(explained)} known differences (Tests/vm/oracle/differences.json):")
        for kind, rel, cid, form, what, text, d in explained:
            print(f"  {rel} {kind} {cid} [{form}] {what}: {d['reason']}")
    if unexplained:
        print(f"\n{len(unexplained)} disagreements:")
        for kind, rel, cid, form, what, text, _ in unexplained:
            print(f"  {rel} {kind} {cid} [{form}] {what}: {text}")
    ok_verdicts = tot["agree"] == tot["verdicts"] or all(p[4] != "verdict" or p[6] for p in problems)
    ratio = tot["exact"] / tot["refusals"] if tot["refusals"] else 1.0
    print(f"\noracle: {tot['agree']}/{tot['verdicts']} verdicts agree, {tot['exact']}/{tot['refusals']} refusals quoted"
          f" exactly ({pct(tot['exact'], tot['refusals'])}), {len(unexplained)} unexplained differences")
    failed = [p for p in unexplained if p[4] in ("verdict", "qemu")] or ratio < 0.95 or any(
        p[4] == "message" for p in unexplained)
    return 1 if failed else 0


def record(paths, dest):
    """QEMU's answers, committed as fixtures: what unit tests hold expected messages to.
    Next to them, one snapshot per host kind (the kernel's answers in that guest), so a
    test can replay each cell through the checker offline."""
    os.makedirs(os.path.join(dest, "snapshots"), exist_ok=True)
    for p in paths:
        with open(p) as f:
            res = json.load(f)
        cells_out = []
        for c in res["cells"]:
            if c["qemu_verdict"] in ("unknown", "missing"):
                continue
            cells_out.append(dict(id=c["id"], mode=c["mode"], backend=c["backend"],
                                  qemu=["qemu-system-x86_64"] + c["qemu"], bdfs=c["bdfs"], verdict=c["qemu_verdict"],
                                  error=c.get("qemu_error"), hints=c.get("qemu_hints") or [],
                                  evidence=c.get("qemu_evidence") or []))
        name = os.path.join(dest, f"{res['release']}-{res['kind']}.json")
        with open(name, "w") as f:
            json.dump(dict(kind=res["kind"], release=res["release"], qemu_version=res.get("qemu_version"),
                           recorded_by="Tests/vm/rig oracle --record", cells=cells_out), f, indent=1,
                      ensure_ascii=False)
            f.write("\n")
        snap = os.path.join(os.path.dirname(p), "snapshots", f"{res['release']}-{res['kind']}.json")
        if os.path.exists(snap) and os.path.getsize(snap) > 0:
            target = os.path.join(dest, "snapshots", f"{res['kind']}.json")
            with open(snap) as f:
                doc = json.load(f)
            with open(target, "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.write("\n")
        print(f"recorded {len(cells_out)} cells: {name}")


def host_env(kind):
    k = KINDS[kind]
    q = shlex.quote
    print(f"DESC={q(k['desc'])}")
    print(f"IOMMU={q(k['iommu'])}")
    print(f"APPEND={q(k['append'])}")
    print("DEVICES=(" + " ".join(q(d) for d in DEVICES) + ")")
    print("BIND=(" + " ".join(q(ROLES[r]) for r in BIND) + ")")


def main(argv):
    if not argv:
        print(__doc__)
        return 64
    cmd, rest = argv[0], argv[1:]
    if cmd == "kinds":
        ci = rest[-1:] == ["ci"]
        print("\n".join(CI_KINDS if ci else KINDS))
    elif cmd == "host-env":
        host_env(rest[0])
    elif cmd == "cells":
        kind, release, subset, out = rest
        print(write_cells(kind, release, subset, out))
    elif cmd == "judge":
        judge(*rest)
    elif cmd == "report":
        table = None
        if rest and rest[0] == "--table":
            table, rest = rest[1], rest[2:]
        return report(rest, table)
    elif cmd == "record":
        record(rest[:-1], rest[-1])
    else:
        print(__doc__)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
