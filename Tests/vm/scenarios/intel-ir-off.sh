# Intel VT-d without interrupt remapping (intel-iommu,intremap=off): the kernel cannot
# isolate MSIs, so VFIO refuses to attach a group (EPERM at VFIO_SET_IOMMU, and at the
# iommufd attach) unless allow_unsafe_interrupts is set. guest/probe records the
# kernel's EPERM; hiodctl must say so in every command that answers, predicted or not.
DESC="intel-iommu intremap=off; e1000e 00:02.0 on vfio-pci, e1000e 00:03.0 on e1000e"
IOMMU="intel-iommu,caching-mode=on,intremap=off"
APPEND="intel_iommu=on"
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=(0000:00:02.0)
NEEDS_HIODCTL=1
GUEST=(
    'host: hiodctl --json host'
    'caps: hiodctl --json caps 0000:00:02.0'
    'check: hiodctl --json check --viommu intel --aw-bits 39 --all'
    'check_sysfs: hiodctl --json check --viommu intel --aw-bits 39 --backend sysfs --all'
    'nfd: hiodctl export --format nfd'
    'prometheus: hiodctl export --format prometheus'
    'ansible: hiodctl export --format ansible'
)
EXPECT=(
    # the kernel's answers: no IR line in its log, EPERM for the viable group
    '.truth.interrupt_remapping == "disabled" and .truth.msi_isolation == "refused"'
    '.truth.kernel.groups["2"] | .viable and .set_iommu == "EPERM"'
    '.truth.params["vfio_iommu_type1/parameters/allow_unsafe_interrupts"] == "N"'
    '.list.host.interrupt_remapping == "disabled"'
    '[.list.host.diagnoses[] | select(.code == "interrupt-remapping-disabled")] | length == 1 and .[0].severity == "error"'
    '.cmds.caps.rc == 2 and (.cmds.caps.json.devices[0].attempts[0] | .backend == "legacy" and .failure.problem == "no-msi-isolation" and .failure.step == "VFIO_SET_IOMMU" and .failure.errno == "EPERM")'
    # check: QEMU refuses, with QEMU's message, from the kernel and from the prediction alike
    '.cmds.check.rc == 1 and .cmds.check.json.verdict == "refuses" and (.cmds.check.json.devices[0].qemu_error.message | contains("Failed to set iommu for container: Operation not permitted"))'
    '.cmds.check_sysfs.rc == 1 and .cmds.check_sysfs.json.verdict == "refuses" and (.cmds.check_sysfs.json.devices[0] | .predicted and (.qemu_error.message | contains("Operation not permitted")))'
    # exports predict from sysfs: no vIOMMU model accepts the device
    '.cmds.nfd.rc == 0 and (.cmds.nfd.stdout | contains("/viommu.intel=false") and contains("/interrupt-remapping=disabled"))'
    '.cmds.prometheus.rc == 0 and (.cmds.prometheus.stdout | contains("hiod_viommu_compatible{model=\"intel\",") and (test("hiod_viommu_compatible\\{model=\"intel\",[^}]*\\} 1") | not))'
    '.cmds.ansible.rc == 0 and (.cmds.ansible.json.viommu.intel.compatible == false)'
)
