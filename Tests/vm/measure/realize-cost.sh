# Not in `rig all` (two minutes under TCG): `Tests/vm/rig run Tests/vm/measure/realize-cost.sh`.
# What a realize costs on a real kernel: eight e1000e on vfio-pci, each in a group of its
# own, realized through each backend alone and all together, and one process per device
# at once (separate containers and iommufd contexts) on two vCPUs. The figures go to the
# performance section of README.md; the expectations hold the answers, not the times.
DESC="intel-iommu aw-bits=48; 8 × e1000e on vfio-pci; realize cost per backend, concurrent realize"
IOMMU="intel-iommu,aw-bits=48,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
SMP=2
MEM=768
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0 e1000e,addr=04.0 e1000e,addr=05.0
    e1000e,addr=06.0 e1000e,addr=07.0 e1000e,addr=08.0 e1000e,addr=09.0)
BIND=(0000:00:02.0 0000:00:03.0 0000:00:04.0 0000:00:05.0 0000:00:06.0 0000:00:07.0 0000:00:08.0 0000:00:09.0)
NEEDS_HIODCTL=1
CMD_TIMEOUT=600
GUEST_TIMEOUT=900
GUEST=("cost: sh /rig/cost.sh 5 ${BIND[*]}")
EXPECT=(
    '[.truth.devices[] | select(.driver == "vfio-pci")] | length == 8'
    '.cmds.cost.rc == 0 and .cmds.cost.json.devices == 8 and .cmds.cost.json.state_unchanged'
    # one process per device at once: every answer as when the device is realized alone
    '.cmds.cost.json.concurrent_same | .legacy and .iommufd'
    '.cmds.cost.json.ms | .sysfs.all > 0 and .legacy.all > 0 and .iommufd.all > 0'
)
