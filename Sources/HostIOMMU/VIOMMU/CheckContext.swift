// hiodctl — what the vIOMMU checks of one device work from: the realized HostIOMMUDevice,
// the host's IOMMU unit, the backend QEMU will use, and QEMU's message prefixes.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The raw VT-d registers of the unit serving a device, decoded.
struct VTdRegisterSet: Hashable, Sendable {
  var capability: VTdCapability
  var extendedCapability: VTdExtendedCapability
  /// `iommu_hw_info_vtd.flags` (ERRATA_772415_SPR17); 0 when read from sysfs.
  var flags: UInt32
}

/// A change to the options that resolves a finding.
typealias OptionsFix = @Sendable (inout VIOMMUOptions) -> Void

/// One check's result before the checker settles shadowing and remedy strings.
struct Outcome {
  var finding: Finding
  /// The configuration change that resolves the finding. The checker applies every fix a
  /// device needs to the configuration and prints the result as the remedy, so a pasted
  /// remedy does not stop at the next error.
  var fix: OptionsFix?

  /// An outcome, with the fix when a configuration change resolves it.
  init(_ finding: Finding, fix: OptionsFix? = nil) {
    self.finding = finding
    self.fix = fix
  }
}

/// Everything one device's checks read. No I/O: all of it was gathered before.
struct DeviceContext {
  let input: DeviceCheckInput
  let configuration: VIOMMUConfiguration
  let host: HostFacts

  var address: PCIAddress { input.device.address }

  /// QEMU's `vbasedev->name`: the host BDF.
  var name: String { address.description }

  /// The realized (or predicted) HostIOMMUDevice; nil when there is neither.
  var hiod: HostIOMMUDevice? { input.realization.hostIOMMUDevice }

  /// The device's values come from the sysfs predictor.
  var isPredicted: Bool { hiod?.backend == .sysfs }

  var qemu: QEMUVersion { configuration.qemu }

  // MARK: QEMU's message prefixes

  /// vfio-pci prefixes every realize error with `vfio <name>: ` (VFIO_MSG_PREFIX).
  var vfioPrefix: String { "vfio \(name): " }

  /// What vfio-pci puts before a `set_iommu_device` error: "Failed to set vIOMMU: " since
  /// the rename (qemu-devel "vfio/pci: Replace \"iommu_device\" by \"vIOMMU\"", Jan 2025 ⇒
  /// QEMU 10.0; release UNVERIFIED), "Failed to set iommu_device: " in 9.1–9.2.
  var setIOMMUDevicePrefix: String {
    qemu >= .v10_0 ? "Failed to set vIOMMU: " : "Failed to set iommu_device: "
  }

  /// A `set_iommu_device` error as the user sees it.
  func setIOMMUDeviceError(_ message: String) -> String {
    vfioPrefix + setIOMMUDevicePrefix + message
  }

  /// The releases in which the `set_iommu_device` prefix has the current spelling, for
  /// findings whose message includes it.
  var setIOMMUDevicePrefixSpan: String {
    qemu >= .v10_0 ? "10.0 and later" : "9.1–9.2"
  }

  // MARK: Backend

  /// The backend QEMU is assumed to use for the device: the one hiodctl realized it with,
  /// else the one asked for. nil when only a sysfs prediction exists and nothing says
  /// which backend QEMU will use.
  var qemuBackend: HostIOMMUBackend? {
    if let backend = hiod?.backend, backend != .sysfs { return backend }
    switch input.realization.requested {
    case .legacy: return .legacy
    case .iommufd: return .iommufd
    case .sysfs: return nil
    case .auto:
      return input.realization.attempts.first { $0.backend != .sysfs }?.backend
    }
  }

  /// "backend iommufd (QEMU's vfio-pci with iommufd=)".
  var backendEvidence: String {
    switch qemuBackend {
    case .legacy?: "backend legacy (QEMU's vfio-pci without iommufd=, VFIO group + type1 container)"
    case .iommufd?: "backend iommufd (QEMU's vfio-pci with iommufd=, VFIO cdev + /dev/iommu)"
    case .sysfs?, nil: "backend unknown (sysfs prediction only)"
    }
  }

  /// "legacy: VFIO_IOMMU_GET_INFO: …" or "predicted from sysfs: /sys/…".
  static func source(_ provenance: Provenance) -> String {
    provenance.isPrediction
      ? "predicted from sysfs: \(provenance.origin)" : "\(provenance.backend.rawValue): \(provenance.origin)"
  }

  // MARK: Host IOMMU facts

  /// The IOMMU unit translating for the device, from the host scan.
  var unit: IOMMUUnit? {
    input.device.iommuUnit.flatMap { name in host.iommuUnits.first { $0.name == name } }
  }

  /// The VT-d registers: from the realized device (GET_HW_INFO or the predictor), else
  /// from the unit's sysfs attributes (a prediction even when the kernel backend ran:
  /// the legacy backend reports no registers).
  var intelRegisters: Sourced<VTdRegisterSet>? {
    if let vendor = hiod?.caps.vendor, case .intelVTd(let flags, let cap, let ecap) = vendor.value {
      return Sourced(
        VTdRegisterSet(capability: VTdCapability(cap), extendedCapability: VTdExtendedCapability(ecap), flags: flags),
        vendor.provenance)
    }
    if let unit, let registers = unit.intelVTd {
      return Sourced(
        VTdRegisterSet(
          capability: VTdCapability(registers.capability),
          extendedCapability: VTdExtendedCapability(registers.extendedCapability), flags: 0),
        Provenance(.sysfs, "/sys/class/iommu/\(unit.name)/intel-iommu/{cap,ecap}"))
    }
    return nil
  }

  /// The SMMUv3 ID registers; only IOMMU_GET_HW_INFO has them (sysfs shows none).
  var smmuRegisters: Sourced<SMMUv3Registers>? {
    guard let vendor = hiod?.caps.vendor, case .armSMMUv3(_, let idr, let iidr, let aidr) = vendor.value,
      let registers = SMMUv3Registers(exactly: idr, iidr: iidr, aidr: aidr)
    else { return nil }
    return Sourced(registers, vendor.provenance)
  }

  /// The host IOMMU type (`caps.type`): the kernel's answer (iommufd) or the predictor's,
  /// else a prediction from the unit's vendor. The legacy backend cannot answer it.
  var hardwareType: Sourced<IOMMUHardwareType>? {
    if let type = hiod?.caps.type { return type }
    guard let unit else { return nil }
    let origin = Provenance(.sysfs, "/sys/class/iommu/\(unit.name) is a \(unit.vendor.rawValue) unit")
    switch unit.vendor {
    case .intel: return Sourced(.intelVTd, origin)
    case .amd: return Sourced(.amd, origin)
    // An Arm unit could also be an SMMUv2, which sysfs names smmu.0x… (UNVERIFIED).
    case .arm where unit.name.hasPrefix("smmu3."): return Sourced(.armSMMUv3, origin)
    default: return nil
    }
  }

  // MARK: Guest placement

  /// The address QEMU's "device %02x.%02x.%x" messages print: the guest's, which only the
  /// caller can know. Without it the host bus/slot/function stand in, with a caveat.
  var guestAddressForMessages: (text: String, caveat: String?) {
    if let placement = input.guestPlacement {
      return (placement.address.description, nil)
    }
    let standIn = GuestPCIAddress(bus: address.bus, slot: address.device, function: address.function)
    return (
      standIn.description,
      "QEMU prints the device's guest bus.slot.function; the host cannot know it, so the host's (\(standIn)) stands in"
    )
  }
}
