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

/// Where in QEMU's start-up a check happens. QEMU stops at the first error in this order:
/// the command line, the vIOMMU's realize, each vfio-pci device's realize in turn, the
/// machine-init-done notifiers; run-time failures come after QEMU started.
enum CheckPhase: Int, Comparable, Sendable {
  case commandLine, viommuRealize, deviceRealize, machineDone, runtime

  static func < (lhs: CheckPhase, rhs: CheckPhase) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One check's result before the checker settles shadowing and remedy strings.
struct Outcome {
  var finding: Finding
  /// The configuration change that resolves the finding. The checker applies every fix a
  /// device needs to the configuration and prints the result as the remedy, so a pasted
  /// remedy does not stop at the next error.
  var fix: OptionsFix?
  /// When QEMU makes the check; nil: the phase of the list it is in.
  var phase: CheckPhase?

  /// An outcome, with the fix when a configuration change resolves it.
  init(_ finding: Finding, fix: OptionsFix? = nil, phase: CheckPhase? = nil) {
    self.finding = finding
    self.fix = fix
    self.phase = phase
  }
}

/// Everything one device's checks read. No I/O: all of it was gathered before.
///
/// A class, though immutable: the checks pass it on and capture it (a closure for the
/// viability advice, helpers per message) dozens of times per device, and each copy of
/// the struct retained every one of its references (as a class, `export`'s sysfs
/// realize check fell from 153 M to 58 M instructions on a host with 4096 functions).
final class DeviceContext {
  let input: DeviceCheckInput
  let configuration: VIOMMUConfiguration
  let host: HostFacts
  /// The device as the VM's command line gives it (option text, backend).
  let assigned: AssignedDevice
  /// Where it sits in the guest when QEMU realizes it.
  let placement: GuestPlacement
  /// Where the VM description came from (flags: hiodctl assumed the topology).
  let origin: InvocationOrigin
  /// Guest RAM in MiB.
  let assignedMemoryMiB: UInt64
  /// The HostIOMMUDevice QEMU's realize will have (`qemusHostIOMMUDevice`), worked out
  /// once: every check reads it, and a copy of it is not free.
  private(set) var hiod: HostIOMMUDevice?

  init(
    input: DeviceCheckInput, configuration: VIOMMUConfiguration, host: HostFacts, assigned: AssignedDevice,
    placement: GuestPlacement, origin: InvocationOrigin, assignedMemoryMiB: UInt64
  ) {
    self.input = input
    self.configuration = configuration
    self.host = host
    self.assigned = assigned
    self.placement = placement
    self.origin = origin
    self.assignedMemoryMiB = assignedMemoryMiB
    name = input.device.address.description
    hiod = nil
    hiod = qemusHostIOMMUDevice()
  }

  /// A context for reading the device's host facts alone (registers, type), outside a VM.
  convenience init(input: DeviceCheckInput, configuration: VIOMMUConfiguration, host: HostFacts) {
    self.init(
      input: input, configuration: configuration, host: host, assigned: AssignedDevice(host: input.device.address),
      placement: input.guestPlacement ?? GuestPlacement(address: GuestPCIAddress(bus: 0, slot: 1, function: 0)),
      origin: .flags, assignedMemoryMiB: 128)
  }

  var address: PCIAddress { input.device.address }

  /// QEMU's `vbasedev->name`: the host BDF (its messages name it again and again).
  let name: String

  /// The realized (or predicted) HostIOMMUDevice, as the backend QEMU uses would see it;
  /// nil when there is neither. An iommufd VM whose device hiodctl realized through the
  /// legacy container (which does not open the device) gets the iommufd page size: the
  /// IOAS's IOVA alignment, the host page size.
  private func qemusHostIOMMUDevice() -> HostIOMMUDevice? {
    guard var device = input.realization.hostIOMMUDevice else { return nil }
    if qemuBackend == .iommufd, device.backend == .legacy {
      device.pageSizeMask = Sourced(
        UInt64(hostPageSize),
        Provenance(.legacy, "iommufd's IOVA alignment (IOMMU_IOAS_IOVA_RANGES out_iova_alignment): the host page size"))
    }
    if let emptyAperture = iommufdAutoDomainAperture(of: device) { device.iovaRanges = emptyAperture }
    return device
  }

  /// The IOVA ranges QEMU's own iommufd domain gets on a virtio-iommu host whose kernel
  /// sets a domain's geometry only when a device attaches to it; nil elsewhere.
  ///
  /// From 9.1 QEMU allocates the domain (IOMMU_HWPT_ALLOC) before attaching the device.
  /// iommufd adds the new domain to the IOAS at allocation (iopt_table_add_domain), when
  /// Linux's virtio-iommu driver has not finalised it yet (viommu_domain_finalise runs in
  /// viommu_attach_dev): its aperture is [0, 0], and it narrows the IOAS to that. QEMU's
  /// first DMA map of guest RAM then fails with EINVAL (Linux 6.12,
  /// drivers/iommu/virtio-iommu.c and drivers/iommu/iommufd/io_pagetable.c; seen by the
  /// rig's oracle with QEMU 10.0 and 11.1). hiodctl's own iommufd realize attaches the
  /// device to the IOAS directly, where the kernel finalises the domain first, so neither
  /// backend's answer shows it. A kernel whose virtio-iommu driver allocates domains for
  /// a device (domain_alloc_paging) finalises them at once; only 6.12 was observed, so
  /// releases from 6.13 on are not claimed.
  /// A VM that needs a nesting-parent domain (first-stage translation, accel) fails
  /// earlier: virtio-iommu cannot nest, so that allocation is refused.
  private func iommufdAutoDomainAperture(of device: HostIOMMUDevice) -> Sourced<[IOVARange]>? {
    guard qemuBackend == .iommufd, QEMURules.applies("iommufd.autodomains", in: qemu),
      !configuration.needsHardwareInfo,
      unit?.vendor == .virtio, let release = host.kernelRelease,
      let kernel = KernelRelease(release), kernel < KernelRelease(major: 6, minor: 13)
    else { return nil }
    return Sourced(
      [IOVARange(start: 0, last: 0)],
      Provenance(
        device.backend,
        """
        QEMU's own iommufd domain (IOMMU_HWPT_ALLOC) on virtio-iommu under Linux \(release): \
        its aperture is unset until attach
        """
      ))
  }

  /// The device's values come from the sysfs predictor.
  var isPredicted: Bool { hiod?.backend == .sysfs }

  var qemu: QEMUVersion { configuration.qemu }

  // MARK: QEMU's message prefixes

  /// vfio-pci prefixes every realize error with `vfio <name>: ` (VFIO_MSG_PREFIX).
  var vfioPrefix: String { "vfio \(name): " }

  /// A vfio-pci realize error as QEMU words it.
  func vfio(_ message: String) -> String { vfioPrefix + message }

  /// What vfio-pci puts before a vIOMMU's `set_iommu_device` error: "Failed to set
  /// vIOMMU: " since 10.0, "Failed to set iommu_device: " in 9.1–9.2.
  var setIOMMUDevicePrefix: String {
    QEMURules.text("vfio.set-iommu-device.prefix", in: qemu) ?? "Failed to set vIOMMU: "
  }

  /// A `set_iommu_device` error as the user sees it.
  func setIOMMUDeviceError(_ message: String) -> String {
    vfioPrefix + setIOMMUDevicePrefix + message
  }

  /// The releases in which the `set_iommu_device` prefix has the current spelling, for
  /// findings whose message includes it.
  var setIOMMUDevicePrefixSpan: String { QEMURules.releases("vfio.set-iommu-device.prefix", in: qemu) }

  /// The device's IOMMU group number as QEMU prints it.
  var groupText: String { input.device.iommuGroup.map(String.init) ?? "?" }

  /// What to do about `group` when it is not viable: `list`'s advice, from the group's
  /// devices and what the host uses them for.
  func viabilityAdvice(for group: IOMMUGroup) -> ViabilityAdvice {
    let devices = input.groupDevices
    return ViabilityAdvice(
      group, device: { name in devices.first { $0.address.description == name } }, uses: host.devicesInUse ?? [])
  }

  /// An error while the legacy container is set up for the device's group.
  func container(_ message: String) -> String {
    vfio((QEMURules.text("vfio.container.prefix", in: qemu, [.string(groupText)]) ?? "") + message)
  }

  /// An error of the memory listener (mapping a region of the device's address space, or
  /// registering an IOMMU notifier for it), with the container prefix of the backend.
  func listener(region: String, _ message: String) -> String {
    let inner =
      (QEMURules.text("vfio.listener.prefix", in: qemu) ?? "")
      + (QEMURules.text("vfio.listener.region", in: qemu, [.string(region)]) ?? "") + message
    return qemuBackend == .iommufd ? vfio(inner) : container(inner)
  }

  // MARK: Backend

  /// The backend QEMU uses for the device: iommufd when the command line gives it
  /// `iommufd=`, else the legacy container (vfio-pci's default).
  var qemuBackend: HostIOMMUBackend? { assigned.backend }

  /// "backend iommufd (QEMU's vfio-pci with iommufd=)".
  var backendEvidence: String {
    var text: String
    switch qemuBackend {
    case .legacy?: text = "backend legacy (QEMU's vfio-pci without iommufd=: VFIO group + type1 container)"
    case .iommufd?: text = "backend iommufd (QEMU's vfio-pci with iommufd=: VFIO cdev + /dev/iommu)"
    case .sysfs?, nil: text = "backend unknown"
    }
    if let realized = input.realization.hostIOMMUDevice?.backend, realized != qemuBackend {
      text += realized == .sysfs ? "; values predicted from sysfs" : "; values from the \(realized.rawValue) backend"
    }
    return text
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

  /// The address QEMU's "device %02x.%02x.%x" messages print: the guest's, as QEMU sees it
  /// when it realizes the device.
  var guestAddressForMessages: (text: String, caveat: String?) {
    (placement.address.description, nil)
  }
}

/// The host's page size, which QEMU uses where the kernel gives no page sizes.
let hostPageSize: Int = Syscall.pageSize
