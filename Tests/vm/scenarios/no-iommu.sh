# No IOMMU at all: no groups and no units; vfio-pci could not bind (no
# iommu_group), so nothing is bound. /dev/vfio/vfio and /dev/iommu still exist.
DESC="no vIOMMU; e1000e 00:02.0 and 00:03.0 on e1000e"
IOMMU=""
APPEND=""
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=()
NEEDS_HIODCTL=1
GUEST=(
    'host: hiodctl --json host'
    'caps: hiodctl --json caps 0000:00:02.0'
)
EXPECT=(
    '.truth.groups == {} and .truth.units == {}'
    '[.truth.devices[] | .group] | all(. == null)'
    '.truth.devices["0000:00:02.0"].driver == "e1000e"'
    '.truth.nodes | keys == ["/dev/iommu", "/dev/vfio/vfio"]'
    '.truth.interrupt_remapping == "disabled"'
    '.list.host.iommu_units == [] and .list.host.iommu_group_count == 0'
    '.list.devices | all(.iommu_group == null and .viable == null and (.vfio_bound | not))'
    '.list.groups == []'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps.rc == 2 and (.cmds.caps.json.devices[0] | .attempts[0].failure.problem == "no-iommu-group" and .host_iommu_device == null)'
)
