# Intel VT-d, 48-bit address width (4-level second stage).
DESC="intel-iommu aw-bits=48; e1000e 00:02.0 on vfio-pci, e1000e 00:03.0 on e1000e"
IOMMU="intel-iommu,aw-bits=48,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=(0000:00:02.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps_iommufd: hiodctl --json caps --backend iommufd 0000:00:02.0'
    'caps_legacy: hiodctl --json caps --backend legacy 0000:00:02.0'
    'caps_sysfs: hiodctl --json caps --backend sysfs 0000:00:02.0'
    'again: for b in auto legacy iommufd legacy auto; do hiodctl caps --backend $b 0000:00:02.0 >/dev/null || exit 1; done'
    'snapshot: hiodctl snapshot'
)
EXPECT=(
    '.truth.devices["0000:00:02.0"] | .driver == "vfio-pci" and .vfiodev == "vfio0" and .group == 2'
    '.truth.devices["0000:00:03.0"].driver == "e1000e"'
    # CAP.MGAW (bits 21:16) = 0x2f = 47 -> 48 bits; SAGAW (12:8) = 0x6: 3- and 4-level
    '.truth.units.dmar0.attrs | .["intel-iommu/cap"] == "d2008c222f0686" and .["intel-iommu/ecap"] == "f00f4a"'
    '.truth.interrupt_remapping == "enabled"'
    '.list.host.iommu_units[0] | .vendor == "intel" and .intel_vtd.cap == "0x00d2008c222f0686"'
    '.list.devices[] | select(.bdf == "0000:00:02.0") | .vfio_bound and .viable'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps_iommufd.rc == 0 and .cmds.caps_legacy.rc == 0 and .cmds.caps_sysfs.rc == 0 and .cmds.again.rc == 0'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .type == "host-iommu-device-iommufd-vfio" and .aw_bits.value == 48 and .aw_bits.predicted == false and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000ffffffffffff"}]'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .iommu_type.name == "INTEL_VTD" and .page_size_mask.value == "0x0000000000001000" and .nesting_parent.allowed == false and .nesting_parent.errno == "EOPNOTSUPP"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device | .type == "host-iommu-device-legacy-vfio" and .aw_bits.value == 48 and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000ffffffffffff"}] and .legacy.iommu_model == "TYPE1v2"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device.get_cap.iommu_type.unsupported == "0000:00:02.0: unsupported capability 0"'
    # the sysfs prediction must equal what the kernel answered
    '.cmds.caps_sysfs.json.devices[0].host_iommu_device as $p | .cmds.caps_legacy.json.devices[0].host_iommu_device as $k | $p.aw_bits.predicted and $p.aw_bits.value == $k.aw_bits.value and $p.iova_ranges.value == $k.iova_ranges.value'
    # snapshot: the host and each backend's answer, for --host
    '.cmds.snapshot.rc == 0 and .cmds.snapshot.json.kind == "hiodctl-snapshot" and .cmds.snapshot.json.hostname == "intel-aw48"'
    '.cmds.snapshot.json.caps[0].backends | .legacy.realized and .sysfs.realized and (has("iommufd") | not)'
)
# Observed: same groups as intel-aw39 (2 = 00:02.0 on vfio-pci, 3 = 00:03.0);
# cap d2008c222f0686, ecap f00f4a.
