# Device resets, as the outer QEMU sees them. Every PCI config-space write the guest
# makes is traced (-trace pci_cfg_write), and guest/init marks each command's writes,
# so .cfg_writes.NAME is what that command wrote. The e1000e's reset method is "pm":
# a reset writes D3hot (3) then D0 (0) to its PM control register at 0xcc. vfio-pci
# resets a device on its first open (the iommufd bind) and again on its last close;
# nothing else hiodctl does opens the device, so every default command writes nothing.
DESC="intel-iommu, config writes traced; e1000e 00:02.0 (reset_method pm) and e1000 01:00.0 behind a root port (bus) on vfio-pci"
IOMMU="intel-iommu,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
# An e1000 alone below a PCIe root port has no function-level reset: its reset_method is
# "bus", a secondary bus reset through the port, refused unless --force.
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0 pcie-root-port,id=rp1,addr=04.0,chassis=1 e1000,bus=rp1)
BIND=(0000:00:02.0 0000:01:00.0)
NEEDS_HIODCTL=1
TRACE_CFG=1
GUEST=(
    'caps: hiodctl --json caps 0000:00:02.0'
    'caps_text: hiodctl caps 0000:00:02.0 0000:00:03.0'
    'caps_legacy: hiodctl --json caps --backend legacy 0000:00:02.0'
    'caps_sysfs: hiodctl --json caps --backend sysfs 0000:00:02.0'
    'check: hiodctl --json check --viommu intel --aw-bits 39 --all'
    'check_virtio: hiodctl --json check --viommu virtio --all'
    'check_suggest: hiodctl check --viommu intel --suggest --all'
    'snapshot: hiodctl snapshot'
    'snapshot_iommufd: hiodctl snapshot --iommufd'
    'export_nfd: hiodctl export --format nfd'
    'export_prometheus: hiodctl export --format prometheus'
    'export_ansible: hiodctl export --format ansible'
    'host: hiodctl --json host'
    'caps_iommufd: hiodctl --json caps --backend iommufd 0000:00:02.0'
    'bus_refused: hiodctl --json caps --backend iommufd 0000:01:00.0'
    'bus_forced: hiodctl --json caps --backend iommufd --force 0000:01:00.0'
)
PM_RESET='["e1000e 00:02.0 @0xcc <- 0x3", "e1000e 00:02.0 @0xcc <- 0x0"]'
EXPECT=(
    '.truth.devices["0000:00:02.0"] | .driver == "vfio-pci" and .reset_method == "pm"'
    # the trace works: the guest kernel wrote config space while it booted
    '.cfg_writes.boot | length > 10'
    # every command has its segment, even when it wrote nothing
    '.cfg_writes | has("list") and has("caps") and has("check") and has("snapshot") and has("export_nfd") and has("caps_iommufd")'
    # the default forms (and legacy, sysfs, exports, snapshot) write no config at all
    '[.cfg_writes | to_entries[] | select(.key != "boot" and .key != "after" and .key != "caps_iommufd" and .key != "bus_forced" and .key != "snapshot_iommufd") | .value[]] == []'
    '.cmds.caps.rc == 0 and .cmds.caps.json.devices[0].host_iommu_device.type == "host-iommu-device-legacy-vfio"'
    '.cmds.check.rc == 0 and .cmds.snapshot.rc == 0 and .cmds.caps_legacy.rc == 0'
    '.cmds.snapshot.json.caps[0].backends | .legacy.realized and .sysfs.realized and (has("iommufd") | not)'
    # the explicit iommufd answer resets the device twice (bind, close), and says so first
    "[.cfg_writes.caps_iommufd[] | select(startswith(\"e1000e 00:02.0 @0xcc \"))] == $PM_RESET + $PM_RESET"
    '.cmds.caps_iommufd.rc == 0 and .cmds.caps_iommufd.json.devices[0].host_iommu_device.type == "host-iommu-device-iommufd-vfio"'
    # a bus reset is refused before anything is opened; with --force the port resets the bus
    '.truth.devices["0000:01:00.0"] | .driver == "vfio-pci" and .reset_method == "bus"'
    '.cmds.bus_refused.rc == 2 and (.cmds.bus_refused.json.devices[0].attempts[0].failure | .problem == "bus-reset-refused" and .step == "reset_method")'
    '.cmds.bus_forced.rc == 0 and ([.cfg_writes.bus_forced[] | select(test("^pcie-root-port 00:04.0 @0x3e "))] | length >= 2)'
    # snapshot --iommufd records the iommufd answer, announcing the reset (and refusing the bus reset)
    '.cmds.snapshot_iommufd.rc == 0 and (.cmds.snapshot_iommufd.stderr | contains("hiodctl: notice: 0000:00:02.0: the iommufd bind opens the device"))'
    "[.cfg_writes.snapshot_iommufd[] | select(startswith(\"e1000e 00:02.0 @0xcc \"))] == $PM_RESET + $PM_RESET"
    '.cmds.caps_iommufd.stderr | contains("0000:00:02.0: the iommufd bind opens the device, and the kernel resets it") and contains("(reset_method: pm)")'
)
# Observed (Linux 6.12, QEMU 7.2): caps --backend iommufd writes @0xcc 0x3, 0x0 (the
# bind's pci_try_reset_function) and again on close, among the command, BAR and MSI
# writes vfio-pci's enable and disable make.
