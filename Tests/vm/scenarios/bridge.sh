# A conventional PCI NIC behind a PCIe-to-PCI bridge under VT-d: DMA from
# behind the bridge carries the bridge's requester ID, so bridge and NIC share
# one IOMMU group. The bridge has no driver, so the group is viable.
DESC="intel-iommu aw-bits=48; pcie-pci-bridge 00:06.0, e1000 01:01.0 behind it on vfio-pci"
IOMMU="intel-iommu,aw-bits=48,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
DEVICES=(pcie-pci-bridge,id=br0,addr=06.0 e1000,bus=br0,addr=01.0)
BIND=(0000:01:01.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps_iommufd: hiodctl --json caps --backend iommufd --force 0000:01:01.0'
    'caps_bus_refused: hiodctl --json caps --backend iommufd 0000:01:01.0'
    'caps_legacy: hiodctl --json caps --backend legacy 0000:01:01.0'
    'caps_sysfs: hiodctl --json caps --backend sysfs 0000:01:01.0'
    'again: for b in auto legacy iommufd legacy auto; do hiodctl caps --backend $b --force 0000:01:01.0 >/dev/null || exit 1; done'
)
EXPECT=(
    '.truth.devices["0000:01:01.0"] | .driver == "vfio-pci" and .group == 2 and .vfiodev == "vfio0"'
    '.truth.devices["0000:00:06.0"] | .group == 2 and .driver == null and .class == "0x060400"'
    '.truth.groups["2"] | .devices == ["0000:00:06.0", "0000:01:01.0"] and .viable'
    '.list.devices[] | select(.bdf == "0000:01:01.0") | .vfio_bound and .viable and .iommu_group == 2'
    '.list.groups[] | select(.id == 2) | .devices == ["0000:00:06.0", "0000:01:01.0"] and .viable'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    # behind the PCI bridge the device's only reset is a secondary bus reset: refused unless --force
    '.cmds.caps_bus_refused.rc == 2 and (.cmds.caps_bus_refused.json.devices[0].attempts[0] | .failure.problem == "bus-reset-refused" and .reset.method == "bus")'
    '.cmds.caps_iommufd.rc == 0 and .cmds.caps_legacy.rc == 0 and .cmds.caps_sysfs.rc == 0 and .cmds.again.rc == 0'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .type == "host-iommu-device-iommufd-vfio" and .aw_bits.value == 48 and .aw_bits.predicted == false and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000ffffffffffff"}]'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .iommu_type.name == "INTEL_VTD" and .page_size_mask.value == "0x0000000000001000" and .nesting_parent.allowed == false and .nesting_parent.errno == "EOPNOTSUPP"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device | .type == "host-iommu-device-legacy-vfio" and .aw_bits.value == 48 and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000ffffffffffff"}] and .legacy.iommu_model == "TYPE1v2"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device.get_cap.iommu_type.unsupported == "0000:01:01.0: unsupported capability 0"'
    # the sysfs prediction must equal what the kernel answered
    '.cmds.caps_sysfs.json.devices[0].host_iommu_device as $p | .cmds.caps_legacy.json.devices[0].host_iommu_device as $k | $p.aw_bits.predicted and $p.aw_bits.value == $k.aw_bits.value and $p.iova_ranges.value == $k.iova_ranges.value'
)
# Observed: groups 0 00:00.0, 1 00:01.0, 2 {00:06.0 bridge, 01:01.0 e1000},
# 3 00:1f.*; the pcie-pci-bridge (1b36:000e, class 060400) has no driver.
