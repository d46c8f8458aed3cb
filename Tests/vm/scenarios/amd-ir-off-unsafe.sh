# AMD-Vi, interrupt remapping off in the kernel, unsafe interrupts allowed: the kernel
# attaches; hiodctl accepts the device and warns. (virtio-iommu stays undetermined from
# sysfs here: AMD-Vi shows no page sizes in sysfs.)
DESC="amd-iommu, kernel intremap=off, allow_unsafe_interrupts=1; e1000e 00:03.0 on vfio-pci"
IOMMU="amd-iommu,intremap=on"
APPEND="intremap=off vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"
DEVICES=(e1000e,addr=03.0 e1000e,addr=04.0)
BIND=(0000:00:03.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps: hiodctl --json caps 0000:00:03.0'
    'check_sysfs: hiodctl --json check --viommu intel --backend sysfs --all'
    'nfd: hiodctl export --format nfd'
)
EXPECT=(
    '.truth.interrupt_remapping == "disabled" and .truth.msi_isolation == "accepted"'
    '.truth.kernel.groups["2"] | .viable and .set_iommu == "OK"'
    '[.list.host.diagnoses[] | select(.code == "interrupt-remapping-disabled")] | length == 1 and .[0].severity == "warning"'
    '.cmds.caps.rc == 0 and .cmds.caps.json.devices[0].host_iommu_device.type == "host-iommu-device-legacy-vfio"'
    '.cmds.check_sysfs.rc == 0 and .cmds.check_sysfs.json.verdict == "works"'
    '.cmds.nfd.rc == 0 and (.cmds.nfd.stdout | contains("/viommu.intel=true"))'
)
