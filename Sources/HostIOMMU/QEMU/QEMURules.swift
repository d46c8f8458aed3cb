// hiodctl — QEMU's rules as data: each message QEMU prints about an assigned device or a
// vIOMMU configuration, the releases that print it that way, and where it comes from.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Sources: the QEMU source of Debian's packages 7.2+dfsg-7+deb12u18 (bookworm),
// 10.0.13+ds-0+deb13u1 (trixie) and 10.2.2+ds-1 (sid), and the strings and behaviour of
// Debian's qemu-system-x86 binaries 7.2.22, 10.0.13 and 11.1.3, run by the VM rig's oracle
// (Tests/vm/oracle; recorded answers in Tests/Fixtures/qemu-oracle). A span boundary that
// falls on a release none of those is comes from QEMU's history (the pull request that
// merged the change) and is marked `inferred`.

/// One way QEMU words one rule, in a span of releases.
struct QEMURule: Sendable {
  /// Stable id, shared by every wording of the rule (`intel.aw-bits.host`).
  let id: String
  /// The releases that print this wording.
  let span: ReleaseSpan
  /// QEMU's format string, after macro expansion (`aw-bits %d > host aw-bits %d`).
  let format: String
  /// Where it is: file and function, in the release it was read in.
  let source: String
  /// The span's boundary is inferred from QEMU's history, not observed or read.
  let inferred: Bool

  init(_ id: String, _ span: ReleaseSpan, _ format: String, _ source: String, inferred: Bool = false) {
    self.id = id
    self.span = span
    self.format = format
    self.source = source
    self.inferred = inferred
  }
}

/// Every rule hiodctl predicts, looked up by id and release.
enum QEMURules {
  /// The wording of `id` in `release`; nil when that release has no such rule.
  static func rule(_ id: String, in release: QEMUVersion) -> QEMURule? {
    let effective = release.rulesRelease ?? release
    return byID[id]?.first { $0.span.contains(effective) }
  }

  /// The table's rules by id, each list in table order: a check of every device asks
  /// for rules hundreds of thousands of times, and a scan of the table compared ids.
  private static let byID: [String: [QEMURule]] = Dictionary(grouping: table, by: \.id)

  /// Whether `release` has rule `id` at all.
  static func applies(_ id: String, in release: QEMUVersion) -> Bool {
    rule(id, in: release) != nil
  }

  /// The message of `id` in `release` with its arguments filled in; nil when that
  /// release has no such rule.
  static func text(_ id: String, in release: QEMUVersion, _ arguments: [FormatArgument] = []) -> String? {
    rule(id, in: release).map { QEMUFormat.fill($0.format, arguments) }
  }

  /// "9.1 and later", with "(inferred)" when a boundary is.
  static func releases(_ id: String, in release: QEMUVersion) -> String {
    guard let rule = rule(id, in: release) else { return "none" }
    return rule.span.description + (rule.inferred ? " (release boundary inferred)" : "")
  }

  // MARK: The table

  static let table: [QEMURule] = commandLine + vfio + iommufd + intel + virtio + amd + smmuv3

  /// Parsing the command line: machine, objects, device properties.
  static let commandLine: [QEMURule] = [
    QEMURule(
      "qemu.machine.unsupported", .all, "unsupported machine type",
      "hw/core/machine / vl.c select_machine (7.2, 10.0.13)"),
    QEMURule(
      "qemu.machine.unsupported.hint", .all, "Use -machine help to list supported machines",
      "vl.c select_machine (7.2, 10.0.13)"),
    QEMURule(
      "qemu.object.iommufd.unknown", .through(.v8_2), "Parameter 'qom-type' does not accept value 'iommufd'",
      "qom/object_interfaces.c user_creatable_add_qapi (7.2); the iommufd object arrived in 9.0", inferred: true),
    QEMURule(
      "qemu.object.iommufd.no-dev-iommu", .since(.v11_1),
      "/dev/iommu does not exist (is your kernel config missing CONFIG_IOMMUFD?)",
      "backends/iommufd.c (11.1.3 binary)", inferred: true),
    QEMURule(
      "qemu.property.not-found", .all, "Property '%s.%s' not found",
      "qom/object.c object_property_find_err (7.2, 10.0.13)"),
    QEMURule(
      "qemu.device.sysbus-machine", .all, "Parameter 'driver' expects a dynamic sysbus device type for the machine",
      "system/qdev-monitor.c qdev_get_device_class (7.2, 10.0.13, 11.1.3 runs)"),
    QEMURule(
      "qemu.device.multiple-viommu", .all, "QEMU does not support multiple vIOMMUs for x86 yet.",
      "hw/i386/pc.c pc_machine_device_pre_plug_cb (7.2, 10.0.13, 10.2.2)"),
  ]

  /// vfio-pci realize through the legacy container, and what every backend shares.
  static let vfio: [QEMURule] = [
    QEMURule("vfio.prefix", .all, "vfio %s: ", "include/hw/vfio/vfio-common.h VFIO_MSG_PREFIX (7.2, 10.0.13)"),
    QEMURule(
      "vfio.no-host-device", .all, "vfio %s: no such host device: No such file or directory",
      "hw/vfio/helpers.c vfio_device_get_name (10.0.13); pci.c vfio_realize (7.2)"),
    QEMURule(
      "vfio.no-iommu-group", .all, "no iommu_group found: No such file or directory",
      "hw/vfio/container.c vfio_device_groupid (10.0.13); pci.c vfio_realize (7.2)"),
    QEMURule(
      "vfio.group.multiple-address-spaces", .all, "group %d used in multiple address spaces",
      "hw/vfio/container.c vfio_get_group (10.0.13); common.c (7.2)"),
    QEMURule(
      "vfio.group.open", .through(.v9_0), "failed to open /dev/vfio/%d: %s", "hw/vfio/common.c vfio_get_group (7.2)",
      inferred: true),
    QEMURule(
      "vfio.group.open", .since(.v9_1), "Could not open '/dev/vfio/%d': %s",
      "util/osdep.c qemu_open via hw/vfio/container.c vfio_get_group (10.0.13)", inferred: true),
    QEMURule("vfio.group.not-viable", .all, "group %d is not viable", "hw/vfio/container.c vfio_get_group (10.0.13)"),
    QEMURule(
      "vfio.group.not-viable.hint", .all,
      "Please ensure all devices within the iommu_group are bound to their vfio bus driver.",
      "hw/vfio/container.c vfio_get_group (10.0.13)"),
    QEMURule(
      "vfio.container.prefix", .all, "failed to setup container for group %d: ",
      "hw/vfio/container.c vfio_get_group (10.0.13); container-legacy.c vfio_group_get (10.2.2)"),
    QEMURule(
      "vfio.container.set-iommu", .all, "Failed to set iommu for container: %s",
      "hw/vfio/container.c vfio_set_iommu (10.0.13); common.c vfio_init_container (7.2)"),
    QEMURule(
      "vfio.container.set-container", .all, "Failed to set group container: %s",
      "hw/vfio/container.c vfio_set_iommu (10.0.13)"),
    QEMURule(
      "vfio.container.open", .through(.v9_0), "failed to open /dev/vfio/vfio: %s", "hw/vfio/common.c (7.2)",
      inferred: true),
    QEMURule(
      "vfio.container.open", .since(.v9_1), "Could not open '/dev/vfio/vfio': %s",
      "hw/vfio/container.c vfio_connect_container (10.0.13)", inferred: true),
    QEMURule(
      "vfio.listener.prefix", .all, "memory listener initialization failed: ",
      "hw/vfio/container.c vfio_connect_container (10.0.13); listener.c vfio_listener_register (10.2.2)"),
    QEMURule(
      "vfio.listener.region", .all, "Region %s: ", "hw/vfio/common.c vfio_listener_region_add (7.2, 10.0.13)"),
    QEMURule(
      "vfio.listener.dma-map", .through(.v8_1), "vfio_dma_map(%p, 0x%x, 0x%x, %p) = %d (%s)",
      "hw/vfio/common.c vfio_listener_region_add (7.2)", inferred: true),
    QEMURule(
      "vfio.listener.dma-map", .since(.v8_2), "vfio_container_dma_map(%p, 0x%x, 0x%x, %p) = %d (%s)",
      "hw/vfio/common.c vfio_listener_region_add (10.0.13); listener.c (10.2.2)", inferred: true),
    QEMURule(
      "vfio.device.already-attached", .all, "device is already attached",
      "hw/vfio/container.c vfio_legacy_attach_device (10.0.13); pci.c vfio_realize (7.2)"),
    QEMURule(
      "vfio.device.get-fd", .all, "error getting device from group %d: %s",
      "hw/vfio/container.c vfio_get_device (10.0.13)"),
    QEMURule(
      "vfio.device.get-fd.hint", .all,
      "Verify all devices in group %d are bound to vfio-<bus> or pci-stub and not already in use",
      "hw/vfio/container.c vfio_get_device (10.0.13)"),
    // The vIOMMU's own refusal of a host device (pci_device_set_iommu_device).
    QEMURule(
      "vfio.set-iommu-device.prefix", .between(.v9_1, .v9_2), "Failed to set iommu_device: ",
      "hw/vfio/pci.c vfio_realize (9.1; renamed by \"vfio/pci: Replace iommu_device by vIOMMU\", Jan 2025)",
      inferred: true),
    QEMURule(
      "vfio.set-iommu-device.prefix", .since(.v10_0), "Failed to set vIOMMU: ",
      "hw/vfio/pci.c vfio_realize (10.0.13); vfio_pci_realize (10.2.2)"),
  ]

  /// vfio-pci realize through a VFIO cdev and /dev/iommu (`iommufd=`).
  static let iommufd: [QEMURule] = [
    QEMURule(
      "iommufd.cdev.missing", .since(.v9_0),
      """
      vfio /sys/bus/pci/devices/%s/vfio-dev: couldn't open directory /sys/bus/pci/devices/%s/vfio-dev: \
      No such file or directory
      """,
      "hw/vfio/iommufd.c iommufd_cdev_getfd (10.0.13)"),
    QEMURule(
      "iommufd.cdev.open", .since(.v9_0), "vfio /sys/bus/pci/devices/%s/vfio-dev: Failed to open /dev/vfio/devices/%s",
      "hw/vfio/iommufd.c iommufd_cdev_getfd (10.0.13)"),
    QEMURule(
      "iommufd.open", .between(.v9_0, .v11_0), "Could not open '/dev/iommu': %s",
      "backends/iommufd.c iommufd_backend_connect (10.0.13)", inferred: true),
    QEMURule(
      "iommufd.bind", .since(.v9_0), "error bind device fd=%d to iommufd=%d: %s",
      "hw/vfio/iommufd.c iommufd_cdev_connect_and_bind (10.0.13)"),
    QEMURule(
      "iommufd.attach", .between(.v9_0, .v11_0), "[iommufd=%d] error attach %s (%d) to id=%d: %s",
      "hw/vfio/iommufd.c iommufd_cdev_attach_ioas_hwpt (10.0.13)", inferred: true),
    QEMURule(
      "iommufd.attach", .since(.v11_1), "[iommufd=%d] error attach %s (%d) pasid 0 to id=%d: %s",
      "hw/vfio/iommufd.c (11.1.3 binary)", inferred: true),
    // Not a message: from 9.1 QEMU allocates the device's paging domain itself
    // (IOMMU_HWPT_ALLOC) and attaches the device to that, instead of letting the kernel
    // pick a domain at attach. Kernels whose IOMMU driver sets the domain's geometry only
    // at attach then give the IOAS no usable IOVA (see DeviceContext.hiod).
    QEMURule(
      "iommufd.autodomains", .since(.v9_1), "",
      "hw/vfio/iommufd.c iommufd_cdev_autodomains_get (10.0.13); auto domains arrived in 9.1", inferred: true),
    QEMURule(
      "iommufd.hwpt-alloc", .since(.v9_0), "Failed to allocate hwpt: %s",
      "backends/iommufd.c iommufd_backend_alloc_hwpt (10.0.13)"),
    QEMURule(
      "iommufd.iova-ranges.warning", .since(.v9_0), "Cannot get IOVA ranges: %s",
      "hw/vfio/iommufd.c iommufd_cdev_attach (10.0.13)"),
  ]

  /// intel-iommu: vtd_decide_config, vtd_dev_set_iommu_device/vtd_check_hiod, and the
  /// caching-mode check of the releases that make it when the machine is done.
  static let intel: [QEMURule] = [
    QEMURule(
      "intel.first-stage.scalable", .between(.v10_0, .v11_0), "x-flts is only available in scalable mode",
      "hw/i386/intel_iommu.c vtd_decide_config (10.0.13, 10.2.2)"),
    QEMURule(
      "intel.first-stage.scalable", .since(.v11_1), "fsts is only available in scalable mode",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 binary)"),
    QEMURule(
      "intel.aw-bits.allowed", .through(.v9_2), "Supported values for aw-bits are: %d, %d",
      "hw/i386/intel_iommu.c vtd_decide_config (7.2)", inferred: true),
    QEMURule(
      "intel.aw-bits.allowed", .between(.v10_0, .v11_0), "%s: supported values for aw-bits are: %d, %d",
      "hw/i386/intel_iommu.c vtd_decide_config (10.0.13, 10.2.2)"),
    QEMURule(
      "intel.aw-bits.allowed", .since(.v11_1), "%s: supported values for aw-bits are: %d, %d",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 binary)"),
    QEMURule(
      "intel.aw-bits.mode.scalable", .between(.v10_0, .v11_0), "Scalable mode(flts=off)",
      "hw/i386/intel_iommu.c vtd_decide_config (10.0.13, 10.2.2)"),
    QEMURule(
      "intel.aw-bits.mode.scalable", .since(.v11_1), "Scalable mode(fsts=off)",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 binary)"),
    QEMURule(
      "intel.aw-bits.mode.legacy", .since(.v10_0), "Legacy mode", "hw/i386/intel_iommu.c vtd_decide_config (10.0.13)"),
    QEMURule(
      "intel.aw-bits.first-stage", .between(.v10_0, .v10_2),
      "Scalable mode(flts=on): supported value for aw-bits is: %d",
      "hw/i386/intel_iommu.c vtd_decide_config (10.0.13, 10.2.2)"),
    QEMURule(
      "intel.aw-bits.first-stage", .between(.v11_0, .v11_0),
      "Scalable mode(x-flts=on): supported value for aw-bits is: %d",
      "hw/i386/intel_iommu.c vtd_decide_config (qemu master @cac33cb5, the 11.0 cycle)", inferred: true),
    QEMURule(
      "intel.aw-bits.first-stage", .since(.v11_1), "Scalable mode(fsts=on): supported value for aw-bits is: %d",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 binary)"),
    QEMURule(
      "intel.pasid.scalable", .since(.v11_1), "Need to set scalable mode for PASID",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 runs)"),
    QEMURule(
      "intel.pasid.width", .since(.v11_1), "PASID width %d exceeds Max PASID Width %d allowed in PCI spec",
      "hw/i386/intel_iommu.c vtd_decide_config (11.1.3 runs)"),
    QEMURule(
      "intel.caching-mode.set-iommu-device", .since(.v10_2),
      "Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU.",
      "hw/i386/intel_iommu.c vtd_dev_set_iommu_device (10.2.2)"),
    QEMURule(
      "intel.caching-mode.machine-done", .through(.v10_1),
      "We need to set caching-mode=on for intel-iommu to enable device assignment with IOMMU protection.",
      "hw/i386/intel_iommu.c vtd_panic_require_caching_mode (7.2, 10.0.13; gone in 10.2.2)", inferred: true),
    QEMURule(
      "intel.host-iommu-device.duplicate", .since(.v9_1), "Host IOMMU device already exist",
      "hw/i386/intel_iommu.c vtd_dev_set_iommu_device (10.0.13)", inferred: true),
    QEMURule(
      "intel.aw-bits.host", .since(.v9_1), "aw-bits %d > host aw-bits %d",
      "hw/i386/intel_iommu.c vtd_check_hiod (10.0.13)", inferred: true),
    QEMURule(
      "intel.first-stage.host", .between(.v10_0, .v10_2), "host device is uncompatible with stage-1 translation",
      "hw/i386/intel_iommu.c vtd_check_hiod (10.0.13, 10.2.2)"),
    QEMURule(
      "intel.first-stage.backend", .between(.v11_0, .v11_0), "Need IOMMUFD backend when x-flts=on",
      "hw/i386/intel_iommu_accel.c vtd_check_hiod_accel (11.0)", inferred: true),
    QEMURule(
      "intel.first-stage.backend", .since(.v11_1), "Need IOMMUFD backend when fsts=on",
      "hw/i386/intel_iommu_accel.c (11.1.3 binary)"),
    QEMURule(
      "intel.first-stage.type", .since(.v11_0), "Incompatible host platform IOMMU type %d",
      "hw/i386/intel_iommu_accel.c vtd_check_hiod_accel (11.0; 11.1.3 binary)", inferred: true),
    QEMURule(
      "intel.first-stage.fs1gp", .since(.v11_0), "First stage 1GB large page is unsupported by host IOMMU",
      "hw/i386/intel_iommu_accel.c vtd_check_hiod_accel (11.0; 11.1.3 binary)", inferred: true),
    QEMURule(
      "intel.first-stage.pasid", .since(.v11_1), "PASID bits size %d > host IOMMU PASID bits size %d",
      "hw/i386/intel_iommu_accel.c (11.1.3 binary)"),
    QEMURule(
      "intel.first-stage.bridge", .between(.v11_0, .v11_0),
      "Host device downstream to a PCI bridge is unsupported when x-flts=on",
      "hw/i386/intel_iommu_accel.c vtd_check_hiod_accel (11.0)", inferred: true),
    QEMURule(
      "intel.first-stage.bridge", .since(.v11_1), "Host device downstream to a PCI bridge is unsupported when fsts=on",
      "hw/i386/intel_iommu_accel.c (11.1.3 binary)"),
  ]

  /// virtio-iommu: realize, and virtio_iommu_set_iommu_device (9.1 on).
  static let virtio: [QEMURule] = [
    QEMURule(
      "virtio.aw-bits.range", .since(.v9_0), "aw-bits must be within [32,64]",
      "hw/virtio/virtio-iommu.c virtio_iommu_device_realize (10.0.13)", inferred: true),
    QEMURule(
      "virtio.aliased", .since(.v9_1), "virtio_iommu_set_host_iova_ranges virtio-iommu does not support aliased BDF",
      "hw/virtio/virtio-iommu.c virtio_iommu_set_host_iova_ranges (10.0.13)", inferred: true),
    QEMURule(
      "virtio.page-size-mask", .since(.v9_1),
      "%s: virtio-iommu reports a page size mask 0x%llx incompatible with currently supported mask 0x%llx",
      "hw/virtio/virtio-iommu.c virtio_iommu_set_page_size_mask (10.0.13)", inferred: true),
    QEMURule(
      "virtio.frozen-granule", .since(.v9_1), "%s: virtio-iommu does not support frozen granule 0x%llx",
      "hw/virtio/virtio-iommu.c virtio_iommu_set_page_size_mask (10.0.13)", inferred: true),
    QEMURule(
      "virtio.host-iommu-device.duplicate", .since(.v9_1), "Host IOMMU device already exists",
      "hw/virtio/virtio-iommu.c virtio_iommu_set_iommu_device (10.0.13)", inferred: true),
  ]

  /// amd-iommu: MAP notifiers, which it refuses before 10.2 and offers with dma-remap=on
  /// from 10.2 on (without it the device's address space stays passthrough).
  static let amd: [QEMURule] = [
    QEMURule(
      "amd.notifier", .through(.v10_1), "device %02x.%02x.%x requires iommu notifier which is not currently supported",
      "hw/i386/amd_iommu.c amdvi_iommu_notify_flag_changed (7.2, 10.0.13; replaced in 10.2.2)", inferred: true),
    QEMURule(
      "amd.region", .all, "amd_iommu", "hw/i386/amd_iommu.c memory_region_init_iommu (7.2, 10.0.13, 10.2.2)"),
  ]

  /// arm-smmuv3 (qemu-system-aarch64; the oracle cannot run it on an x86 guest).
  /// Debian's qemu-system-aarch64 11.1.3 binary holds the 11.1 strings; 11.0's are the
  /// target-arm pull of Jan 2026 (qemu master @13b941aa), inferred.
  static let smmuv3: [QEMURule] = [
    QEMURule(
      "smmuv3.map-notifier", .all, "device %02x.%02x.%x requires iommu MAP notifier which is not currently supported",
      "hw/arm/smmuv3.c smmuv3_notify_flag_changed (11.1.3 binary)"),
    QEMURule(
      "smmuv3.region", .all, "smmuv3-iommu-memory-region-%d-%d", "hw/arm/smmu-common.c smmu_find_add_as", inferred: true
    ),
    QEMURule(
      "smmuv3.ril", .since(.v11_0), "ril can only be disabled if accel=on", "hw/arm/smmuv3.c (11.1.3 binary)"),
    QEMURule(
      "smmuv3.ats", .since(.v11_0), "ats can only be enabled if accel=on", "hw/arm/smmuv3.c (11.1.3 binary)"),
    QEMURule(
      "smmuv3.oas.accel-off", .between(.v11_0, .v11_0), "OAS can only be set to 44 bits if accel=off",
      "hw/arm/smmuv3.c (qemu master @13b941aa)", inferred: true),
    QEMURule(
      "smmuv3.oas.accel-off", .since(.v11_1), "oas must be 44 bits when accel=off", "hw/arm/smmuv3.c (11.1.3 binary)"),
    QEMURule(
      "smmuv3.oas.values", .between(.v11_0, .v11_0), "OAS can only be set to 44 or 48 bits",
      "hw/arm/smmuv3.c (qemu master @13b941aa)", inferred: true),
    QEMURule(
      "smmuv3.oas.values", .since(.v11_1),
      "QEMU SMMUv3 model only implements auto, 44 bit, or 48 bit OAS. Other OasMode values are not supported.",
      "hw/arm/smmuv3.c (11.1.3 binary)"),
    QEMURule(
      "smmuv3.ssidsize.accel-off", .since(.v11_1), "ssidsize can only be greater than 0 bits if accel=on",
      "hw/arm/smmuv3.c (11.1.3 binary)"),
    QEMURule(
      "smmuv3.accel.backend", .since(.v11_0),
      "vfio-pci endpoint devices without an iommufd backend not allowed when using arm-smmuv3,accel=on",
      "hw/arm/smmuv3-accel.c (11.1.3 binary)"),
  ]
}
