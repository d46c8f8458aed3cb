# A two-function NIC behind a PCIe root port under VT-d; only function 0 goes to
# vfio-pci, so the shared group is NOT viable: 01:00.1 (on e1000e) blocks it.
# Not on the root bus: there the e1000e functions are Intel RC-integrated
# endpoints, which Linux treats as isolated (quirks.c pci_quirk_rciep_acs), so
# 00:04.0 and 00:04.1 got separate groups (observed).
DESC="intel-iommu aw-bits=48; pcie-root-port 00:04.0 with e1000e 01:00.0 (vfio-pci) + 01:00.1 (e1000e)"
IOMMU="intel-iommu,aw-bits=48,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
DEVICES=(pcie-root-port,id=rp1,chassis=1,addr=04.0
         e1000e,bus=rp1,addr=00.0,multifunction=on e1000e,bus=rp1,addr=00.1)
BIND=(0000:01:00.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps: hiodctl --json caps 0000:01:00.0'
)
EXPECT=(
    '.truth.devices["0000:01:00.0"].group == 4 and .truth.devices["0000:01:00.1"].group == 4'
    '.truth.devices["0000:01:00.0"].driver == "vfio-pci" and .truth.devices["0000:01:00.1"].driver == "e1000e"'
    '.truth.groups[.truth.devices["0000:01:00.0"].group | tostring] | .devices == ["0000:01:00.0", "0000:01:00.1"] and (.viable | not) and .blockers == [{"device": "0000:01:00.1", "driver": "e1000e"}]'
    '.truth.devices["0000:00:04.0"] | .driver == "pcieport" and .group == 2'
    '.list.devices[] | select(.bdf == "0000:01:00.0") | .vfio_bound and .viable == false'
    '.list.groups[] | select(.devices | index("0000:01:00.0")) | .viable == false and .blockers == [{"device": "0000:01:00.1", "driver": "e1000e"}]'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps.rc == 2 and .cmds.caps.json.devices[0].attempts[0].failure.problem == "group-not-viable"'
    '.cmds.caps.json.devices[0].attempts[0].failure.message == "group 4 is not viable: 0000:01:00.1 is bound to e1000e"'
)
# Observed: groups 0 00:00.0, 1 00:01.0, 2 00:04.0 (root port, pcieport; QEMU's
# root port has ACS, so it is alone), 3 00:1f.*, 4 {01:00.0, 01:00.1}; all "DMA",
# msi window only; /dev/vfio/4 exists although the group is not viable.
