# AMD-Vi. QEMU's amd-iommu is also a PCI function (1022:0010, class 0806) that
# takes the first free slot (00:02.0) itself, so the NICs sit at 03.0 and 04.0.
# No amd_iommu= option is needed; QEMU 7.2's amd-iommu has intremap=on|off|auto
# (needs kernel-irqchip=split, which the default machine has).
DESC="amd-iommu intremap=on; e1000e 00:03.0 on vfio-pci, e1000e 00:04.0 on e1000e"
IOMMU="amd-iommu,intremap=on"
APPEND=""
DEVICES=(e1000e,addr=03.0 e1000e,addr=04.0)
BIND=(0000:00:03.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps_iommufd: hiodctl --json caps --backend iommufd 0000:00:03.0'
    'caps_legacy: hiodctl --json caps --backend legacy 0000:00:03.0'
    'caps_sysfs: hiodctl --json caps --backend sysfs 0000:00:03.0'
    'again: for b in auto legacy iommufd legacy auto; do hiodctl caps --backend $b 0000:00:03.0 >/dev/null || exit 1; done'
)
EXPECT=(
    '.truth.devices["0000:00:03.0"] | .driver == "vfio-pci" and .vfiodev == "vfio0" and .group == 2'
    '.truth.devices["0000:00:04.0"] | .driver == "e1000e" and .group == 3'
    '.truth.devices["0000:00:02.0"] | .vendor == "0x1022" and .group == null and .iommu == null'
    '.truth.units | keys == ["ivhd0"]'
    '.truth.units.ivhd0 | .link == "../../devices/pci0000:00/0000:00:02.0/iommu/ivhd0" and .attrs == {"amd-iommu/cap": "1f03000f", "amd-iommu/features": "29d3:0"}'
    '.truth.groups["2"].reserved_regions == [{"start": "0x00000000fee00000", "end": "0x00000000feefffff", "type": "msi"}, {"start": "0x000000fd00000000", "end": "0x000000ffffffffff", "type": "reserved"}]'
    '.truth.interrupt_remapping == "enabled"'
    '.list.host.iommu_units | length == 1 and .[0].vendor == "amd" and .[0].intel_vtd == null and .[0].amd_vi != null'
    '.list.devices[] | select(.bdf == "0000:00:03.0") | .vfio_bound and .viable and .iommu_unit == "ivhd0"'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps_iommufd.rc == 0 and .cmds.caps_legacy.rc == 0 and .cmds.caps_sysfs.rc == 0 and .cmds.again.rc == 0'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .type == "host-iommu-device-iommufd-vfio" and .aw_bits.value == 64 and .aw_bits.predicted == false and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x000000fcffffffff"},{"start":"0x0000010000000000","last":"0xffffffffffffffff"}]'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .iommu_type.name == "NONE" and .page_size_mask.value == "0x0000000000001000" and .nesting_parent.allowed == false and .nesting_parent.errno == "EOPNOTSUPP"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device | .type == "host-iommu-device-legacy-vfio" and .aw_bits.value == 64 and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x000000fcffffffff"},{"start":"0x0000010000000000","last":"0xffffffffffffffff"}] and .legacy.iommu_model == "TYPE1v2"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device.get_cap.iommu_type.unsupported == "0000:00:03.0: unsupported capability 0"'
    # the sysfs prediction must equal what the kernel answered
    '.cmds.caps_sysfs.json.devices[0].host_iommu_device as $p | .cmds.caps_legacy.json.devices[0].host_iommu_device as $k | $p.aw_bits.predicted and $p.aw_bits.value == $k.aw_bits.value and $p.iova_ranges.value == $k.iova_ranges.value'
)
# Observed: /sys/class/iommu/ivhd0 -> ../../devices/pci0000:00/0000:00:02.0/iommu/ivhd0,
# amd-iommu/cap 1f03000f, amd-iommu/features "29d3:0" (EFR:EFR2; dmesg "Extended
# features (0x29d3, 0x0): PreF PPR GT IA GA HE"); the IOMMU's own function has no
# group; groups 0 00:00.0, 1 00:01.0, 2 00:03.0, 3 00:04.0, 4 00:1f.*, all "DMA"
# ("Using strict mode due to virtualization"); every group also reserves
# 0xfd00000000-0xffffffffff (HyperTransport) besides the msi window;
# "AMD-Vi: Interrupt remapping enabled", IR-IO-APIC in /proc/interrupts.
