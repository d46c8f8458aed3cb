# AMD-Vi with interrupt remapping turned off in the kernel (intremap=off): DMA is still
# translated, but MSIs are not isolated, so VFIO refuses to attach (EPERM).
DESC="amd-iommu, kernel intremap=off; e1000e 00:03.0 on vfio-pci, e1000e 00:04.0 on e1000e"
IOMMU="amd-iommu,intremap=on"
APPEND="intremap=off"
DEVICES=(e1000e,addr=03.0 e1000e,addr=04.0)
BIND=(0000:00:03.0)
NEEDS_HIODCTL=1
GUEST=(
    'host: hiodctl --json host'
    'caps: hiodctl --json caps 0000:00:03.0'
    'check: hiodctl --json check --viommu intel --aw-bits 48 --all'
    'check_sysfs: hiodctl --json check --viommu virtio --backend sysfs --all'
    'nfd: hiodctl export --format nfd'
)
EXPECT=(
    '.truth.interrupt_remapping == "disabled" and .truth.msi_isolation == "refused"'
    '.truth.kernel.groups["2"] | .viable and .set_iommu == "EPERM"'
    '.truth.units | keys == ["ivhd0"]'
    '.list.host.interrupt_remapping == "disabled"'
    '[.list.host.diagnoses[] | select(.code == "interrupt-remapping-disabled")] | length == 1 and .[0].severity == "error"'
    '.cmds.caps.rc == 2 and (.cmds.caps.json.devices[0].attempts[0].failure | .problem == "no-msi-isolation" and .errno == "EPERM")'
    '.cmds.check.rc == 1 and (.cmds.check.json.devices[0].qemu_error.message | contains("Operation not permitted"))'
    '.cmds.check_sysfs.rc == 1 and (.cmds.check_sysfs.json.devices[0] | .predicted and (.qemu_error.message | contains("Operation not permitted")))'
    '.cmds.nfd.rc == 0 and (.cmds.nfd.stdout | contains("/viommu.virtio=false") and contains("/viommu.intel=false"))'
)
