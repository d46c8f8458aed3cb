# Intel VT-d without interrupt remapping, and vfio_iommu_type1/iommufd told to allow
# unsafe interrupts: the kernel attaches the group (a guest could then forge MSIs).
# hiodctl must accept the device, and warn.
DESC="intel-iommu intremap=off, allow_unsafe_interrupts=1; e1000e 00:02.0 on vfio-pci"
IOMMU="intel-iommu,caching-mode=on,intremap=off"
APPEND="intel_iommu=on vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=(0000:00:02.0)
NEEDS_HIODCTL=1
GUEST=(
    'host: hiodctl --json host'
    'caps: hiodctl --json caps 0000:00:02.0'
    'check: hiodctl --json check --viommu intel --aw-bits 39 --all'
    'check_sysfs: hiodctl --json check --viommu intel --aw-bits 39 --backend sysfs --all'
    'nfd: hiodctl export --format nfd'
    'ansible: hiodctl export --format ansible'
)
EXPECT=(
    '.truth.interrupt_remapping == "disabled" and .truth.msi_isolation == "accepted"'
    '.truth.kernel.groups["2"] | .viable and .set_iommu == "OK"'
    '.truth.params["vfio_iommu_type1/parameters/allow_unsafe_interrupts"] == "Y"'
    '[.list.host.diagnoses[] | select(.code == "interrupt-remapping-disabled")] | length == 1 and .[0].severity == "warning"'
    '[.list.host.diagnoses[] | select(.code == "unsafe-interrupts-allowed")] | length == 1'
    '.cmds.caps.rc == 0 and .cmds.caps.json.devices[0].host_iommu_device.type == "host-iommu-device-legacy-vfio"'
    '.cmds.check.rc == 0 and .cmds.check.json.verdict == "works"'
    '.cmds.check_sysfs.rc == 0 and .cmds.check_sysfs.json.verdict == "works"'
    '.cmds.nfd.rc == 0 and (.cmds.nfd.stdout | contains("/viommu.intel=true"))'
    '.cmds.ansible.rc == 0 and (.cmds.ansible.json.viommu.intel.compatible == true)'
)
