#!/usr/bin/env python3
# hiodctl -- writes synthetic system trees (sys/, dev/, proc/) shaped like Linux's, for
# tests and benchmarks run with `hiodctl --sysroot`. Real captures from the VM rig live in
# Tests/Fixtures/captured/; these trees cover what the rig cannot boot (wide PCI domains,
# thousands of SR-IOV VFs, no-IOMMU mode, broken files).
# SPDX-License-Identifier: GPL-2.0-or-later
"""Usage:
  synthesize.py NAME OUTDIR               write one named fixture (see FIXTURES)
  synthesize.py sriov OUTDIR --devices N  a large SR-IOV host with N PCI functions
  synthesize.py all FIXTURESDIR           rewrite every named fixture under FIXTURESDIR
"""
import argparse
import json
import os
import shutil
import struct
import sys

# VT-d registers of QEMU's intel-iommu as the VM rig observed them (aw-bits 39): MGAW 38.
VTD_CAP_AW39 = "d2008c22260286"
VTD_ECAP = "480080f00f4a"
# The same unit with aw-bits 48 (MGAW field 47, SAGAW 39+48 bits).
VTD_CAP_AW48 = "d2008c222f0686"


class Tree:
    """A system tree under `root`, written the way the kernel lays sysfs out."""

    def __init__(self, root):
        self.root = root
        self.groups = {}

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, text=""):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w" if isinstance(text, str) else "wb") as f:
            f.write(text)

    def mkdir(self, rel):
        os.makedirs(self.path(rel), exist_ok=True)

    def link(self, rel, target_rel):
        """A relative symlink at `rel` pointing to `target_rel` (both tree paths)."""
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        target = os.path.relpath(self.path(target_rel), os.path.dirname(p))
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)

    # -- host-wide pieces ------------------------------------------------------------

    def intel_unit(self, name="dmar0", cap=VTD_CAP_AW39, ecap=VTD_ECAP, version="1:0"):
        base = f"/sys/devices/virtual/iommu/{name}"
        self.write(f"{base}/intel-iommu/cap", cap + "\n")
        self.write(f"{base}/intel-iommu/ecap", ecap + "\n")
        self.write(f"{base}/intel-iommu/version", version + "\n")
        self.write(f"{base}/intel-iommu/address", "fed90000\n")
        self.link(f"/sys/class/iommu/{name}", base)
        return base

    def amd_unit(self, name="ivhd0", parent="0000:00:00.2", cap="190b640f", features="246577efa2254afa:0"):
        base = f"/sys/devices/pci0000:00/{parent}/iommu/{name}"
        self.write(f"{base}/amd-iommu/cap", cap + "\n")
        self.write(f"{base}/amd-iommu/features", features + "\n")
        self.link(f"/sys/class/iommu/{name}", base)
        return base

    def vfio_nodes(self, container=True, iommufd=True):
        if container:
            self.write("/dev/vfio/vfio")
        if iommufd:
            self.write("/dev/iommu")

    def cpu(self, vendor="GenuineIntel"):
        self.write("/proc/cpuinfo", f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: 6\n")

    def irq_chips(self, chips):
        for number, chip in enumerate(chips):
            self.write(f"/sys/kernel/irq/{number}/chip_name", chip + "\n")

    def unsafe_interrupts(self, vfio_type1="N", iommufd=None):
        if vfio_type1 is not None:
            self.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", vfio_type1 + "\n")
        if iommufd is not None:
            self.write("/sys/module/iommufd/parameters/allow_unsafe_interrupts", iommufd + "\n")

    def group(self, number, reserved=(("0x00000000fee00000", "0x00000000feefffff", "msi"),),
              type_="DMA", name=None, node=None):
        base = f"/sys/kernel/iommu_groups/{number}"
        self.mkdir(f"{base}/devices")
        self.write(f"{base}/reserved_regions", "".join(f"{s} {e} {t}\n" for s, e, t in reserved))
        if type_ is not None:
            self.write(f"{base}/type", type_ + "\n")
        if name is not None:
            self.write(f"{base}/name", name + "\n")
        if node is not None:
            self.write(f"/dev/vfio/{node}")
        self.groups[number] = base
        return base

    def pci_ids(self, entries, classes):
        """A small pci.ids so fixture names do not depend on the machine's database."""
        lines = ["# pci.ids subset written by Tests/Fixtures/synthesize.py\n"]
        for vendor, (vname, devices) in sorted(entries.items()):
            lines.append(f"{vendor}  {vname}\n")
            for device, dname in sorted(devices.items()):
                lines.append(f"\t{device}  {dname}\n")
        for base, (bname, subs) in sorted(classes.items()):
            lines.append(f"C {base}  {bname}\n")
            for sub, sname in sorted(subs.items()):
                lines.append(f"\t{sub}  {sname}\n")
        self.write("/usr/share/misc/pci.ids", "".join(lines))

    # -- devices ---------------------------------------------------------------------

    def device(self, bdf, vendor, device, klass, *, parent=None, rev="00", subsys=("0000", "0000"),
               group=None, driver=None, cdev=None, unit=None, cdev_major=511):
        """One PCI function. `parent` is the BDF of the bridge above it (None: root bus)."""
        domain, bus = bdf.split(":")[0], bdf.split(":")[1]
        if parent is None:
            directory = f"/sys/devices/pci{domain}:{bus}/{bdf}"
        else:
            directory = f"{self.device_dir(parent)}/{bdf}"
        self.device_dirs[bdf] = directory
        self.manifest_devices[bdf] = {"group": group, "driver": driver,
                                      "cdev": None if cdev is None else f"vfio{cdev}"}
        self.write(f"{directory}/vendor", f"0x{vendor}\n")
        self.write(f"{directory}/device", f"0x{device}\n")
        self.write(f"{directory}/class", f"0x{klass}\n")
        self.write(f"{directory}/revision", f"0x{rev}\n")
        self.write(f"{directory}/subsystem_vendor", f"0x{subsys[0]}\n")
        self.write(f"{directory}/subsystem_device", f"0x{subsys[1]}\n")
        self.write(f"{directory}/irq", "0\n")
        self.write(f"{directory}/numa_node", "-1\n")
        self.write(f"{directory}/resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * 13)
        self.write(f"{directory}/config", config_space(vendor, device, klass, rev, subsys))
        self.link(f"/sys/bus/pci/devices/{bdf}", directory)
        if group is not None:
            self.link(f"{directory}/iommu_group", f"/sys/kernel/iommu_groups/{group}")
            self.link(f"/sys/kernel/iommu_groups/{group}/devices/{bdf}", directory)
        if unit is not None:
            target = f"/sys/devices/virtual/iommu/{unit}" if unit.startswith("dmar") else os.readlink(self.path(f"/sys/class/iommu/{unit}"))
            if unit.startswith("dmar"):
                self.link(f"{directory}/iommu", target)
            else:
                self.link(f"{directory}/iommu", os.path.normpath(os.path.join("/sys/class/iommu", target)))
        if driver is not None:
            # Real driver directories hold bind/unbind/uevent; the files also keep the
            # directory in git, which drops empty ones (libpci realpath()s the link).
            for attribute in ("bind", "unbind", "uevent"):
                if not os.path.exists(self.path(f"/sys/bus/pci/drivers/{driver}/{attribute}")):
                    self.write(f"/sys/bus/pci/drivers/{driver}/{attribute}")
            self.link(f"{directory}/driver", f"/sys/bus/pci/drivers/{driver}")
        if cdev is not None:
            self.write(f"{directory}/vfio-dev/vfio{cdev}/dev", f"{cdev_major}:{cdev}\n")
            self.write(f"/dev/vfio/devices/vfio{cdev}")
        return directory

    def device_dir(self, bdf):
        return self.device_dirs[bdf]

    device_dirs = None
    manifest_devices = None

    def manifest(self):
        """What this tree contains, computed from what was written (not by hiodctl's rules
        reimplemented elsewhere): per device its group, driver, cdev and whether its group's
        VFIO node exists; per group its members and the members on DMA-doing host drivers."""
        dma_free = {None, "pcieport", "pci-stub"}
        members = {}
        for bdf, info in self.manifest_devices.items():
            if info["group"] is not None:
                members.setdefault(info["group"], []).append(bdf)
        groups = {}
        for number, bdfs in members.items():
            blockers = sorted(b for b in bdfs if self.manifest_devices[b]["driver"] not in dma_free
                              and "vfio" not in self.manifest_devices[b]["driver"])
            groups[str(number)] = {"devices": sorted(bdfs), "blockers": blockers,
                                   "node": os.path.exists(self.path(f"/dev/vfio/{number}"))}
        return {"devices": self.manifest_devices, "groups": groups}


def config_space(vendor, device, klass, rev, subsys):
    """The first 64 bytes of a type-0 header (type 1 for bridges), as lspci reads it."""
    header_type = 1 if klass.startswith("0604") else 0
    data = struct.pack("<HHHHBBBBBBBB", int(vendor, 16), int(device, 16), 0x0406, 0x0010,
                       int(rev, 16), int(klass[4:6], 16), int(klass[2:4], 16), int(klass[0:2], 16),
                       0, 0, header_type, 0)
    data += bytes(24)
    if header_type == 0:
        data += struct.pack("<HH", int(subsys[0], 16), int(subsys[1], 16))
    else:
        data += bytes(4)
    data += bytes(64 - len(data))
    return data


def new_tree(out):
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tree = Tree(out)
    tree.device_dirs = {}
    tree.manifest_devices = {}
    return tree


NAMES = {
    "8086": ("Intel Corporation", {
        "29c0": "82G33/G31/P35/P31 Express DRAM Controller",
        "10d3": "82574L Gigabit Network Connection",
        "2918": "82801IB (ICH9) LPC Interface Controller",
        "2930": "82801I (ICH9 Family) SMBus Controller",
        "0953": "PCIe Data Center SSD",
        "1533": "I210 Gigabit Network Connection",
        "201d": "Volume Management Device NVMe RAID Controller",
    }),
    "144d": ("Samsung Electronics Co Ltd", {"a808": "NVMe SSD Controller SM981/PM981/PM983"}),
    "1b36": ("Red Hat, Inc.", {"000c": "QEMU PCIe Root port"}),
}
CLASSES = {
    "01": ("Mass storage controller", {"08": "Non-Volatile memory controller"}),
    "02": ("Network controller", {"00": "Ethernet controller"}),
    "06": ("Bridge", {"00": "Host bridge", "01": "ISA bridge", "04": "PCI bridge"}),
    "0c": ("Serial bus controller", {"05": "SMBus"}),
}


def intel_host(out):
    """An Intel VT-d host: VFIO-bound and host-driver devices, a multi-function group that
    is not viable, a root port (pcieport) sharing a group with a VFIO device, a pci-stub
    device, and an NVMe behind a VMD domain with five hex digits."""
    t = new_tree(out)
    t.pci_ids(NAMES, CLASSES)
    t.cpu("GenuineIntel")
    t.intel_unit("dmar0")
    t.intel_unit("dmar1", cap=VTD_CAP_AW48)
    t.vfio_nodes()
    t.irq_chips(["IR-IO-APIC", "IR-IO-APIC", "DMAR-MSI", "IR-PCI-MSIX-0000:00:02.0"])
    t.unsafe_interrupts("N", "N")
    for g, node in [(0, None), (1, "1"), (2, None), (3, "3"), (4, "4"), (5, None), (6, "6"), (7, None)]:
        t.group(g, node=node)
    t.device("0000:00:00.0", "8086", "29c0", "060000", group=0, unit="dmar0", subsys=("1af4", "1100"))
    t.device("0000:00:02.0", "8086", "10d3", "020000", group=1, unit="dmar0", driver="vfio-pci", cdev=0)
    t.device("0000:00:03.0", "8086", "10d3", "020000", group=2, unit="dmar0", driver="e1000e")
    t.device("0000:00:04.0", "8086", "10d3", "020000", group=3, unit="dmar0", driver="vfio-pci", cdev=1)
    t.device("0000:00:04.1", "8086", "10d3", "020000", group=3, unit="dmar0", driver="e1000e")
    t.device("0000:00:1c.0", "1b36", "000c", "060400", group=4, unit="dmar0", driver="pcieport")
    t.device("0000:01:00.0", "144d", "a808", "010802", parent="0000:00:1c.0", group=4, unit="dmar0",
             driver="vfio-pci", cdev=2, subsys=("144d", "a801"))
    t.device("0000:00:1f.0", "8086", "2918", "060100", group=5, unit="dmar0", driver="lpc_ich", rev="02")
    t.device("0000:00:1f.3", "8086", "2930", "0c0500", group=5, unit="dmar0", driver="i801_smbus", rev="02")
    t.device("10000:00:02.0", "8086", "0953", "010802", group=6, unit="dmar1", driver="vfio-pci", cdev=3)
    t.device("0000:00:05.0", "8086", "1533", "020000", group=7, unit="dmar1", driver="pci-stub", rev="03")


def no_iommu(out):
    """A host whose IOMMU is off: devices but no groups, units, or VFIO nodes."""
    t = new_tree(out)
    t.pci_ids(NAMES, CLASSES)
    t.cpu("GenuineIntel")
    t.irq_chips(["IO-APIC", "PCI-MSIX-0000:00:02.0"])
    t.device("0000:00:00.0", "8086", "29c0", "060000")
    t.device("0000:00:02.0", "8086", "10d3", "020000", driver="e1000e")
    t.device("0000:00:1f.0", "8086", "2918", "060100", driver="lpc_ich", rev="02")


def noiommu_mode(out):
    """VFIO in unsafe no-IOMMU mode: a fake group named vfio-noiommu and /dev/vfio/noiommu-0."""
    t = new_tree(out)
    t.pci_ids(NAMES, CLASSES)
    t.cpu("AuthenticAMD")
    t.vfio_nodes(container=True, iommufd=False)
    t.group(0, reserved=(), type_=None, name="vfio-noiommu", node="noiommu-0")
    t.device("0000:00:00.0", "8086", "29c0", "060000")
    t.device("0000:00:03.0", "8086", "10d3", "020000", group=0, driver="vfio-pci")


def broken(out):
    """What a racing hot-unplug or a damaged capture leaves behind: a device whose
    mandatory attributes vanished, a garbled reserved_regions, a non-UTF-8 group type,
    an unreadable VT-d register, a group listing a device that does not exist."""
    t = new_tree(out)
    t.pci_ids(NAMES, CLASSES)
    t.cpu("GenuineIntel")
    t.intel_unit("dmar0", cap="not-hex")
    t.vfio_nodes()
    t.group(1, node="1", reserved=(("0x00000000fee00000", "0x00000000feefffff", "msi"),
                                    ("0x0000000000000000", "0x00000000", ""),))
    t.write("/sys/kernel/iommu_groups/1/reserved_regions",
            "0x00000000fee00000 0x00000000feefffff msi\n0x00000000000a0000 0x00000\n")
    t.group(2, type_=None)
    t.write("/sys/kernel/iommu_groups/2/type", b"\xff\xfeDMA\n")
    t.device("0000:00:02.0", "8086", "10d3", "020000", group=1, unit="dmar0", driver="vfio-pci", cdev=0)
    gone = t.device("0000:00:03.0", "8086", "10d3", "020000", group=2, unit="dmar0", driver="e1000e")
    os.unlink(t.path(f"{gone}/vendor"))
    t.link("/sys/kernel/iommu_groups/2/devices/0000:00:09.0", "/sys/devices/pci0000:00/0000:00:09.0")
    # A dangling iommu link and a driver link into nowhere.
    t.device("0000:00:04.0", "8086", "10d3", "020000", group=2, driver="e1000e")
    t.link(f"{t.device_dir('0000:00:04.0')}/iommu", "/sys/devices/virtual/iommu/dmar9")


def sriov(out, devices):
    """A large SR-IOV host: N functions (PFs with their VFs), one group per VF, some
    multi-device groups, half the functions on vfio-pci with cdevs, one VT-d unit.

    Layout: 16 root ports per bus-0 slot range, each with one PF (ixgbe/vfio) and
    up to 63 VFs on the PF's bus; every VF is its own group, every fourth PF shares its
    group with function 1 of the same device (a dual-port NIC without ACS)."""
    t = new_tree(out)
    t.cpu("GenuineIntel")
    t.intel_unit("dmar0", cap=VTD_CAP_AW48)
    t.vfio_nodes()
    t.irq_chips(["IR-IO-APIC", "IR-PCI-MSIX-0000:00:01.0"])
    t.unsafe_interrupts("N", "N")
    made = 0
    group = 0
    cdev = 0
    bus = 1
    port = 0
    while made < devices:
        # A root port on bus 0 owning bus `bus`.
        port_bdf = f"0000:00:{port // 8:02x}.{port % 8}"
        t.group(group)
        t.device(port_bdf, "8086", "2918", "060400", group=group, unit="dmar0", driver="pcieport")
        made += 1
        group += 1
        port += 1
        if port >= 256:
            raise SystemExit("sriov: more than 256 root ports needed; raise the VF count per PF")
        # The PF (function 0) and a sibling function 1 share a group every fourth port.
        shared = port % 4 == 0
        pf_bdf = f"0000:{bus:02x}:00.0"
        t.group(group, node=str(group) if made % 2 else None)
        t.device(pf_bdf, "8086", "1533", "020000", parent=port_bdf, group=group, unit="dmar0",
                 driver="igb" if made % 2 == 0 else "vfio-pci",
                 cdev=None if made % 2 == 0 else cdev)
        if made % 2:
            cdev += 1
        made += 1
        if shared and made < devices:
            t.device(f"0000:{bus:02x}:00.1", "8086", "1533", "020000", parent=port_bdf, group=group,
                     unit="dmar0", driver="igb")
            made += 1
        group += 1
        for vf in range(1, 64):
            if made >= devices:
                break
            slot, function = divmod(vf + 7, 8)
            vf_bdf = f"0000:{bus:02x}:{slot:02x}.{function}"
            on_vfio = made % 2 == 1
            t.group(group, node=str(group) if on_vfio else None,
                    reserved=(("0x00000000fee00000", "0x00000000feefffff", "msi"),))
            t.device(vf_bdf, "8086", "1520", "020000", parent=port_bdf, group=group, unit="dmar0",
                     driver="vfio-pci" if on_vfio else "igbvf", cdev=cdev if on_vfio else None)
            if on_vfio:
                cdev += 1
            made += 1
            group += 1
        bus += 1
    return t


FIXTURES = {
    "intel-host": intel_host,
    "no-iommu": no_iommu,
    "noiommu-mode": noiommu_mode,
    "broken": broken,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="fixture name, 'sriov' or 'all'")
    parser.add_argument("out", help="output directory")
    parser.add_argument("--devices", type=int, default=1024, help="PCI functions for 'sriov'")
    parser.add_argument("--manifest", help="also write what the tree holds, as JSON, to this file")
    args = parser.parse_args()
    if args.name == "all":
        for name, make in FIXTURES.items():
            make(os.path.join(args.out, name))
    elif args.name == "sriov":
        tree = sriov(args.out, args.devices)
        if args.manifest:
            with open(args.manifest, "w") as f:
                json.dump(tree.manifest(), f, indent=1, sort_keys=True)
    elif args.name in FIXTURES:
        FIXTURES[args.name](args.out)
    else:
        parser.error(f"unknown fixture {args.name!r}; known: {', '.join(FIXTURES)}, sriov, all")


if __name__ == "__main__":
    main()
