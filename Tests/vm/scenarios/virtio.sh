# virtio-iommu: no interrupt remapping, so VFIO's MSI-isolation check would
# refuse the device at attach time (EPERM); vfio-pci still binds, nodes exist.
DESC="virtio-iommu-pci at 00:05.0; e1000e 00:02.0 on vfio-pci, e1000e 00:03.0 on e1000e"
IOMMU="virtio-iommu-pci,addr=05.0"
APPEND=""
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=(0000:00:02.0)
NEEDS_HIODCTL=1
GUEST=(
    'host: hiodctl --json host'
    'caps: hiodctl --json caps 0000:00:02.0'
    'caps_iommufd: hiodctl --json caps --backend iommufd 0000:00:02.0'
)
EXPECT=(
    '.truth.devices["0000:00:02.0"] | .driver == "vfio-pci" and .vfiodev == "vfio0" and .group == 0'
    '.truth.devices["0000:00:03.0"] | .driver == "e1000e" and .group == 1'
    # only devices that a driver probed get a group under virtio-iommu (VIOT)
    '[.truth.devices[] | select(.group != null)] | length == 2'
    '.truth.units | keys == ["0000:00:05.0"]'
    '.truth.units["0000:00:05.0"].link == "../../devices/pci0000:00/0000:00:05.0/virtio0/iommu/0000:00:05.0"'
    '.truth.groups["0"].type == "DMA-FQ"'
    '.truth.interrupt_remapping == "disabled"'
    '.list.host.iommu_units | length == 1 and .[0].vendor == "virtio" and .[0].intel_vtd == null'
    '.list.host.interrupt_remapping == "disabled"'
    # the real-world failure the tool must explain: no MSI isolation -> EPERM
    '.list.host.diagnoses | any(.severity == "error")'
    '.list.devices[] | select(.bdf == "0000:00:02.0") | .vfio_bound and .iommu_group == 0'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps.rc == 2'
    '.cmds.caps.json.devices[0].attempts | .[0].backend == "legacy" and .[0].failure.problem == "no-msi-isolation" and .[0].failure.step == "VFIO_SET_IOMMU" and .[0].failure.errno == "EPERM" and .[1].backend == "sysfs"'
    '.cmds.caps_iommufd.rc == 2 and (.cmds.caps_iommufd.json.devices[0].attempts[0] | .backend == "iommufd" and .failure.problem == "no-msi-isolation" and .failure.step == "VFIO_DEVICE_BIND_IOMMUFD" and .failure.errno == "EPERM")'
    '.cmds.caps.json.devices[0] | .prediction and .host_iommu_device.aw_bits == null'
)
# Observed: the class device is named after the virtio-iommu's PCI function,
# /sys/class/iommu/0000:00:05.0 -> ../../devices/pci0000:00/0000:00:05.0/virtio0/iommu/0000:00:05.0,
# with no vendor attributes; groups 0 (00:02.0) and 1 (00:03.0) only, type DMA-FQ;
# reserved_regions msi 0xfee00000-0xfeefffff; no IR- chips in /proc/interrupts.
