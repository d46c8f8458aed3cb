# Intel VT-d, 39-bit address width: one NIC on vfio-pci, one left on its host driver.
DESC="intel-iommu aw-bits=39; e1000e 00:02.0 on vfio-pci, e1000e 00:03.0 on e1000e"
IOMMU="intel-iommu,aw-bits=39,caching-mode=on,intremap=on"
APPEND="intel_iommu=on"
DEVICES=(e1000e,addr=02.0 e1000e,addr=03.0)
BIND=(0000:00:02.0)
NEEDS_HIODCTL=1
GUEST=(
    'caps_iommufd: hiodctl --json caps --backend iommufd 0000:00:02.0'
    'caps_legacy: hiodctl --json caps --backend legacy 0000:00:02.0'
    'caps_sysfs: hiodctl --json caps --backend sysfs 0000:00:02.0'
    'again: for b in auto legacy iommufd legacy auto; do hiodctl caps --backend $b 0000:00:02.0 >/dev/null || exit 1; done'
    'unbound: hiodctl --json caps 0000:00:03.0'
    'busy: sleep 30 </dev/vfio/2 & holder=$!; sleep 1; hiodctl --json caps 0000:00:02.0; rc=$?; kill $holder; exit $rc'
    'chk48: hiodctl --json check --viommu intel --aw-bits 48 0000:00:02.0'
    'chk48text: hiodctl check --viommu intel --aw-bits 48 0000:00:02.0'
    'chk39: hiodctl --json check --viommu intel --aw-bits 39 0000:00:02.0'
    'q91: hiodctl --json check --viommu intel --qemu 9.1 --all'
    'q100: hiodctl --json check --viommu intel --qemu 10.0 --all'
    'xflts_legacy: hiodctl --json check --viommu intel --qemu 11.0 --x-scalable-mode on --x-flts --backend legacy --all'
    'xflts_iommufd: hiodctl --json check --viommu intel --qemu 11.0 --x-scalable-mode on --x-flts --backend iommufd --all'
    'cmoff: hiodctl --json check --viommu intel --caching-mode off --aw-bits 39 --all'
    'suggest: hiodctl --json check --viommu intel --suggest --all'
    'snapshot: hiodctl snapshot'
)
EXPECT=(
    # ground truth (what the guest kernel shows)
    '.truth.devices["0000:00:02.0"] | .driver == "vfio-pci" and .vfiodev == "vfio0" and .group == 2'
    '.truth.devices["0000:00:03.0"] | .driver == "e1000e" and .group == 3'
    '.truth.units | keys == ["dmar0"]'
    '.truth.units.dmar0.attrs | .["intel-iommu/cap"] == "d2008c22260286" and .["intel-iommu/ecap"] == "f00f4a"'
    '.truth.nodes | has("/dev/iommu") and has("/dev/vfio/vfio") and has("/dev/vfio/2") and has("/dev/vfio/devices/vfio0")'
    '.truth.groups["2"].reserved_regions == [{"start": "0x00000000fee00000", "end": "0x00000000feefffff", "type": "msi"}]'
    '.truth.interrupt_remapping == "enabled"'
    # hiodctl (everything else is cross-checked against the guest's sysfs)
    '.list.host.iommu_units | map(.name) == ["dmar0"]'
    '.list.host.iommu_units[0] | .vendor == "intel" and .intel_vtd.cap == "0x00d2008c22260286" and .intel_vtd.ecap == "0x0000000000f00f4a"'
    '.list.host.interrupt_remapping == "enabled"'
    '.list.devices[] | select(.bdf == "0000:00:02.0") | .vfio_bound and .viable and .iommu_group == 2 and .vfio_cdev.name == "vfio0"'
    '.list.devices[] | select(.bdf == "0000:00:03.0") | (.vfio_bound | not) and .driver == "e1000e"'
    # caps: HostIOMMUDevice realized by the real kernel (and predicted from sysfs)
    '.cmds.caps_iommufd.rc == 0 and .cmds.caps_legacy.rc == 0 and .cmds.caps_sysfs.rc == 0 and .cmds.again.rc == 0'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .type == "host-iommu-device-iommufd-vfio" and .aw_bits.value == 39 and .aw_bits.predicted == false and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000007fffffffff"}]'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device | .iommu_type.name == "INTEL_VTD" and .page_size_mask.value == "0x0000000000001000" and .nesting_parent.allowed == false and .nesting_parent.errno == "EOPNOTSUPP"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device | .type == "host-iommu-device-legacy-vfio" and .aw_bits.value == 39 and .iova_ranges.value == [{"start":"0x0000000000000000","last":"0x00000000fedfffff"},{"start":"0x00000000fef00000","last":"0x0000007fffffffff"}] and .legacy.iommu_model == "TYPE1v2"'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device.get_cap.iommu_type.unsupported == "0000:00:02.0: unsupported capability 0"'
    # the sysfs prediction must equal what the kernel answered
    '.cmds.caps_sysfs.json.devices[0].host_iommu_device as $p | .cmds.caps_legacy.json.devices[0].host_iommu_device as $k | $p.aw_bits.predicted and $p.aw_bits.value == $k.aw_bits.value and $p.iova_ranges.value == $k.iova_ranges.value'
    '.cmds.caps_iommufd.json.devices[0].host_iommu_device.vendor | .type == "intel_vtd" and .cap == "0x00d2008c22260286" and .ecap == "0x0000000000f00f4a" and (.fields[] | select(.name == "CAP.MGAW") | .value) == 38 and (.fields[] | select(.name == "ECAP.NEST") | .value) == 0'
    '.cmds.caps_legacy.json.devices[0].host_iommu_device.page_size_mask.value == "0x0000000040201000"'
    '.cmds.unbound.rc == 2 and (.cmds.unbound.json.devices[0] | .attempts[0].failure.problem == "not-bound-to-vfio" and .prediction and .host_iommu_device.aw_bits.value == 39)'
    # a process holding /dev/vfio/2 (as a running QEMU would): busy, holder named, then the
    # prediction (auto never tries iommufd: its bind would reset the device)
    '.cmds.busy.rc == 2 and (.cmds.busy.json.devices[0].attempts | map(.backend + ":" + (.failure.problem // "ok"))) == ["legacy:busy", "sysfs:ok"]'
    '.cmds.busy.json.devices[0].attempts | .[0].failure.errno == "EBUSY" and (.[0].failure.hints[0] | test("held by pid [0-9]+ \\(sleep\\)"))'
    # check: QEMU's verdict predicted from the kernel's answers (not from sysfs)
    '.cmds.chk48.rc == 1 and .cmds.chk48.json.status == "fail" and (.cmds.chk48.json.devices[0] | .backend == "legacy" and .predicted == false and .aw_bits == 39)'
    '[.cmds.chk48.json.devices[0].findings[] | select(.check == "intel.aw-bits")][0] | .status == "fail" and .message == "vfio 0000:00:02.0: Failed to set vIOMMU: aw-bits 48 > host aw-bits 39" and .remedy.qemu == "-device intel-iommu,caching-mode=on,aw-bits=39" and .predicted == false'
    '.cmds.chk48text.rc == 1 and (.cmds.chk48text.stdout | contains("aw-bits 48 > host aw-bits 39") and contains("-device intel-iommu,caching-mode=on,aw-bits=39") and contains("aw_bits=\u002739\u0027"))'
    '.cmds.chk39.rc == 0 and .cmds.chk39.json.status == "pass"'
    # the default aw-bits follows --qemu: 39 before 10.0 (passes), 48 from 10.0 (fails here)
    '.cmds.q91.rc == 0 and (.cmds.q91.json.viommu.properties[] | select(.name == "aw-bits") | .value == "39" and .default)'
    '.cmds.q100.rc == 1 and (.cmds.q100.json.viommu.properties[] | select(.name == "aw-bits") | .value == "48") and ([.cmds.q100.json.devices[0].findings[] | select(.check == "intel.aw-bits")][0].status == "fail")'
    # x-flts: refused with the legacy backend; with iommufd the kernel refuses the nesting parent
    '.cmds.xflts_legacy.rc == 1 and ([.cmds.xflts_legacy.json.devices[0].findings[] | select(.message | contains("Need IOMMUFD backend when x-flts=on"))] | length) == 1'
    '.cmds.xflts_iommufd.rc == 1 and ([.cmds.xflts_iommufd.json.devices[0].findings[] | select(.check == "intel.x-flts.nesting-parent")][0] | .status == "fail" and .predicted == false and (.evidence | join(" ") | contains("refused with EOPNOTSUPP (iommufd")))'
    '.cmds.cmoff.rc == 1 and ([.cmds.cmoff.json.devices[0].findings[] | select(.check == "intel.caching-mode")][0] | .status == "fail" and (.message | endswith("Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU.")))'
    '.cmds.suggest.rc == 0 and (.cmds.suggest.json.suggestion.configuration.properties[] | select(.name == "aw-bits") | .value == "39")'
    # snapshot: the host and each backend's answer, for --host
    '.cmds.snapshot.rc == 0 and .cmds.snapshot.json.kind == "hiodctl-snapshot" and .cmds.snapshot.json.hostname == "intel-aw39"'
    # without --iommufd a snapshot opens no device: legacy and the prediction only
    '.cmds.snapshot.json.caps[0].backends | .legacy.realized and .sysfs.realized and (has("iommufd") | not)'
)
# Observed (Linux 6.12.117, QEMU 7.2): groups 0 00:00.0, 1 00:01.0 (VGA), 2 00:02.0,
# 3 00:03.0, 4 00:1f.{0,2,3}; every group type "DMA" (caching mode forces strict);
# reserved_regions msi 0xfee00000-0xfeefffff, group 4 also direct-relaxable
# 0x0-0xffffff (LPC floppy workaround); dmar0 cap d2008c22260286 (MGAW 38 -> 39 bits,
# SAGAW 3-level), ecap f00f4a, version 1:0, address fed90000; "DMAR-IR: Enabled IRQ
# remapping in xapic mode"; /dev/vfio/2 = 251:0, /dev/vfio/devices/vfio0 = 250:0.
