# No leaks, no changes, and a real user: three NICs on vfio-pci realized hundreds of
# times (450) through both backends; hiodctl run while a QEMU-like holder owns a device.
DESC="intel-iommu aw-bits=39; e1000e 02.0/03.0/04.0 on vfio-pci, 05.0 on e1000e; soak and holders"
IOMMU="intel-iommu,aw-bits=39,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0 e1000e,addr=04.0 e1000e,addr=05.0)
BIND=(0000:00:02.0 0000:00:03.0 0000:00:04.0)
NEEDS_HIODCTL=1
CMD_TIMEOUT=900
GUEST_TIMEOUT=1200
VFIO="0000:00:02.0 0000:00:03.0 0000:00:04.0"
GUEST=(
    # Descriptors: the fewest a single realize needs must do for three devices in one
    # process; a descriptor kept per device would run out (EMFILE) on the second.
    "fds_legacy: n=3; while [ \$n -lt 64 ]; do (ulimit -n \$n; hiodctl caps --backend legacy 0000:00:02.0 >/dev/null 2>&1) && break; n=\$((n + 1)); done; echo \"limit \$n\" >&2; ulimit -n \$n; hiodctl --json caps --backend legacy $VFIO"
    "fds_iommufd: n=3; while [ \$n -lt 64 ]; do (ulimit -n \$n; hiodctl caps --backend iommufd 0000:00:02.0 >/dev/null 2>&1) && break; n=\$((n + 1)); done; echo \"limit \$n\" >&2; ulimit -n \$n; hiodctl --json caps --backend iommufd $VFIO"
    # A process holding the device as QEMU's legacy backend does (group, container, device fd).
    'held_legacy_list: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl --json list'
    'held_legacy_caps: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl --json caps 0000:00:02.0'
    'held_legacy_caps_legacy: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl --json caps --backend legacy 0000:00:02.0'
    'held_legacy_caps_iommufd: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl --json caps --backend iommufd 0000:00:02.0'
    'held_legacy_check: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl --json check --viommu intel --aw-bits 39 --all'
    'held_legacy_snapshot: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl snapshot'
    'held_legacy_export: sh /rig/hold.sh legacy /dev/vfio/2 0000:00:02.0 -- hiodctl export --format prometheus --backend auto'
    # The same as QEMU's iommufd backend does it (cdev bound to /dev/iommu, attached to an IOAS).
    'held_iommufd_caps: sh /rig/hold.sh iommufd /dev/vfio/devices/vfio0 -- hiodctl --json caps 0000:00:02.0'
    'held_iommufd_check: sh /rig/hold.sh iommufd /dev/vfio/devices/vfio0 -- hiodctl --json check --viommu intel --aw-bits 39 --all'
    'held_iommufd_snapshot: sh /rig/hold.sh iommufd /dev/vfio/devices/vfio0 -- hiodctl snapshot'
    # Released again: nothing of hiodctl (nor of the holders) is left holding it.
    'released: hiodctl --json caps --backend legacy 0000:00:02.0 && hiodctl --json caps --backend iommufd 0000:00:02.0 >/dev/null'
    # Hundreds of invocations over every VFIO device and both backends.
    "soak: sh /rig/soak.sh 50 $VFIO"
)
EXPECT=(
    '.truth.devices["0000:00:02.0"].driver == "vfio-pci" and .truth.devices["0000:00:05.0"].driver == "e1000e"'
    # one process, three devices, at the descriptor limit of one realize: all realized
    '.cmds.fds_legacy.rc == 0 and (.cmds.fds_legacy.json.devices | length == 3 and all(.host_iommu_device.aw_bits.predicted == false))'
    '.cmds.fds_iommufd.rc == 0 and (.cmds.fds_iommufd.json.devices | length == 3 and all(.host_iommu_device.aw_bits.predicted == false))'
    # every command while held: answers, the device busy with the holder named, the holder undisturbed
    '[.cmds | to_entries[] | select(.key | startswith("held_")) | .value.stderr | test("undisturbed")] | length == 10 and all'
    '.cmds.held_legacy_list.rc == 0 and (.cmds.held_legacy_list.json.devices[] | select(.bdf == "0000:00:02.0") | .vfio_bound)'
    '.cmds.held_legacy_caps.rc == 2 and (.cmds.held_legacy_caps.json.devices[0].attempts | map(.backend + ":" + (.failure.problem // "ok"))) == ["legacy:busy", "sysfs:ok"]'
    '.cmds.held_legacy_caps.json.devices[0].attempts[0].failure.hints[0] | test("held by pid [0-9]+ \\(vfio-hold\\)")'
    '.cmds.held_legacy_caps_legacy.rc == 2 and .cmds.held_legacy_caps_legacy.json.devices[0].attempts[0].failure.errno == "EBUSY"'
    '.cmds.held_legacy_caps_iommufd.rc == 2 and .cmds.held_legacy_caps_iommufd.json.devices[0].attempts[0].failure.problem == "busy"'
    '.cmds.held_legacy_check.rc == 2 and (.cmds.held_legacy_check.json.devices[] | select(.bdf == "0000:00:02.0") | .backend == "sysfs" and .predicted and ([.findings[] | select(.check == "vfio.kernel")][0].status == "undetermined"))'
    '.cmds.held_legacy_check.json.devices | map(select(.bdf != "0000:00:02.0") | .status == "pass" and .predicted == false) | length == 2 and all'
    '.cmds.held_legacy_snapshot.rc == 0 and (.cmds.held_legacy_snapshot.json.caps[] | select(.bdf == "0000:00:02.0") | .backends | (.legacy.failure.problem == "busy") and (has("iommufd") | not) and .sysfs.realized)'
    '.cmds.held_legacy_export.rc == 0 and (.cmds.held_legacy_export.stdout | contains("hiod_"))'
    # held through its cdev (QEMU with iommufd=): the group is busy too, and the holder of the cdev is named
    '.cmds.held_iommufd_caps.rc == 2 and (.cmds.held_iommufd_caps.json.devices[0].attempts | map(.backend + ":" + (.failure.problem // "ok"))) == ["legacy:busy", "sysfs:ok"]'
    '.cmds.held_iommufd_caps.json.devices[0].attempts[0].failure.hints[0] | test("/dev/vfio/devices/vfio0 is held by pid [0-9]+ \\(vfio-hold\\)")'
    '.cmds.held_iommufd_check.rc == 2 and .cmds.held_iommufd_snapshot.rc == 0'
    '.cmds.released.rc == 0 and (.cmds.released.json.devices[0].host_iommu_device.aw_bits.value == 39)'
    # no leaks, no changes
    '.cmds.soak.rc == 0 and .cmds.soak.json.state_unchanged and .cmds.soak.json.realizations == 450'
    '.cmds.soak.json.open_files[1] - .cmds.soak.json.open_files[0] <= 8'
    '.cmds.soak.json.sunreclaim_kb[1] - .cmds.soak.json.sunreclaim_kb[0] <= 1024'
)
