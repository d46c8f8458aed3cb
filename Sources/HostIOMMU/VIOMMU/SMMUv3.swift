// hiodctl — arm-smmuv3's checks: the emulated SMMUv3 refuses assigned devices; with
// accel=on (QEMU 11.0) the host SMMUv3's ID registers must match the vSMMU's.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Messages: QEMU/QEMURules.swift (smmuv3.*; the strings of Debian's qemu-system-aarch64
// 11.1.3). The host ID-register checks are hw/arm/smmuv3-accel.c (qemu @13b941aa, the
// target-arm pull of 2026-01-29), whose texts the 11.1.3 binary holds verbatim. The VM
// rig cannot run an Arm guest, so no oracle cell covers arm-smmuv3.

import SystemPackage

/// The vSMMU's own ID register values (`smmuv3_init_regs`) that the host is compared with.
struct VSMMUProfile: Hashable, Sendable {
  /// IDR0.STLEVEL: 2-level stream table.
  var streamTableLevel: UInt8 = 1
  /// IDR0.TTENDIAN: little-endian.
  var ttEndian: UInt8 = 2
  /// IDR0.TTF: AArch64.
  var translationTableFormat: UInt8 = 2
  /// IDR1.SIDSIZE.
  var sidSize = 16
  /// IDR1.SSIDSIZE = the ssidsize property.
  var ssidSize: Int
  /// IDR3.RIL = the ril property.
  var rangeInvalidation: Bool
  /// IDR5.OAS: 4 (44 bits), or 5 (48 bits) with oas=48.
  var oasCode: UInt8
  /// IDR0.ATS = the ats property.
  var ats: Bool

  /// The vSMMU `configuration` creates.
  init(_ configuration: VIOMMUConfiguration) {
    ssidSize = configuration.ssidsize?.value ?? 0
    rangeInvalidation = configuration.ril?.value ?? true
    oasCode = configuration.oas?.value == 48 ? 5 : 4
    ats = configuration.ats?.value ?? false
  }
}

/// arm-smmuv3's checks, configuration and per device.
enum SMMUv3Checks {
  private static var acceleratedSpan: String { ReleaseSpan.since(.v11_0).description }

  // MARK: Configuration

  /// arm-smmuv3's realize checks on its accel options (11.0; the options do not exist
  /// before, which the property check reports).
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard configuration.qemu >= .v11_0, let accel = configuration.accel?.value else { return [] }
    var outcomes: [Outcome] = []
    let qemu = configuration.qemu
    func rule(_ id: String, _ summary: String, fix: @escaping OptionsFix) {
      guard let message = QEMURules.text(id, in: qemu) else { return }
      outcomes.append(
        Outcome(
          Finding(
            check: "smmuv3." + id.split(separator: ".").dropFirst().first.map(String.init)!, status: .fail,
            message: message, qemuVersions: QEMURules.releases(id, in: qemu),
            evidence: ["accel=\(accel ? "on" : "off")"], remedy: Remedy(summary: summary)),
          fix: fix))
    }
    if !accel, configuration.options.ril == false {
      rule("smmuv3.ril", "drop ril=off (or turn accel on)") { $0.ril = nil }
    }
    if !accel, configuration.options.ats == true {
      rule("smmuv3.ats", "drop ats=on (or turn accel on)") { $0.ats = nil }
    }
    if let oas = configuration.options.oas {
      if !accel, oas != 44 {
        rule("smmuv3.oas.accel-off", "drop oas (or turn accel on)") { $0.oas = nil }
      } else if accel, oas != 44, oas != 48 {
        let replacement = oas > 48 ? 48 : 44
        rule("smmuv3.oas.values", "use oas=\(replacement)") { $0.oas = replacement }
      }
    }
    if !accel, let ssid = configuration.options.ssidsize, ssid > 0 {
      rule("smmuv3.ssidsize.accel-off", "drop ssidsize (or turn accel on)") { $0.ssidsize = nil }
    }
    return outcomes
  }

  // MARK: Devices

  /// The checks for one device, in QEMU's order.
  static func deviceOutcomes(_ context: DeviceContext) -> [Outcome] {
    guard context.configuration.accel?.value == true, context.qemu >= .v11_0 else {
      return [emulated(context)]
    }
    var outcomes = [backend(context)]
    guard context.qemuBackend != .legacy, context.hiod != nil else { return outcomes }
    outcomes.append(nestingParent(context))
    outcomes.append(hardwareType(context))
    outcomes += idrComparisons(context)
    return outcomes
  }

  /// The emulated SMMUv3 cannot notify MAP events, which VFIO needs: every assigned
  /// device is refused (QEMU hw/arm/smmuv3.c `smmuv3_notify_flag_changed`).
  static func emulated(_ context: DeviceContext) -> Outcome {
    let canAccelerate = QEMURules.applies("smmuv3.accel.backend", in: context.qemu)
    let address = context.placement.address
    let notifier =
      QEMURules.text("smmuv3.map-notifier", in: context.qemu, VFIORealize.guestAddress(context)) ?? ""
    // The SMMU's address space of the device: smmuv3-iommu-memory-region-<n>-<devfn>.
    let region =
      QEMURules.text(
        "smmuv3.region", in: context.qemu, [.of(Int(address.bus)), .of(Int(address.devfn))]) ?? "smmuv3"
    return Outcome(
      Finding(
        check: "smmuv3.map-notifier", status: .fail, message: context.listener(region: region, notifier),
        qemuVersions: ReleaseSpan.all.description + " (accel=off)",
        evidence: [
          """
          accel=\(context.configuration.accel?.value == true ? "on" : "off") \
          (\(context.configuration.accel?.reason ?? "no accel property"))
          """
        ],
        remedy: Remedy(
          summary: canAccelerate
            ? """
            the emulated SMMUv3 cannot serve assigned devices: \
            use accel=on with the iommufd backend, or virtio-iommu
            """
            : """
            the emulated SMMUv3 cannot serve assigned devices before QEMU 11.0 (accel=on): \
            use virtio-iommu
            """),
        caveat:
          """
          qemu-system-aarch64 is not run by the VM rig's oracle: \
          the memory region's name is inferred from QEMU's source
          """
      ),
      fix: canAccelerate ? Self.turnAccelOn : nil)
  }

  /// The fix that turns accel on.
  static let turnAccelOn: OptionsFix = { $0.accel = true }

  /// The fix that returns oas to its default (44).
  static let defaultOAS: OptionsFix = { $0.oas = nil }

  /// accel=on takes only vfio-pci devices with the iommufd backend
  /// (`supports_address_space`, before vfio-pci attaches the device).
  static func backend(_ context: DeviceContext) -> Outcome {
    let remedy = Remedy(
      summary: "give the device the iommufd backend", qemu: iommufdBackendOption(for: context.address),
      host: "the host needs /dev/iommu (CONFIG_IOMMUFD) and VFIO cdevs (/dev/vfio/devices/, Linux ≥ 6.6)")
    let message = QEMURules.text("smmuv3.accel.backend", in: context.qemu) ?? ""
    switch context.qemuBackend {
    case .legacy?:
      return Outcome(
        Finding(
          check: "smmuv3.accel.backend", status: .fail, message: message, qemuVersions: acceleratedSpan,
          evidence: [context.backendEvidence], remedy: remedy,
          caveat: "QEMU reports it while realizing the vfio-pci device; its location prefix is not reproduced"))
    case .iommufd?:
      return Outcome(
        Finding(
          check: "smmuv3.accel.backend", status: .pass, message: "the device uses the iommufd backend accel=on needs",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence]))
    case .sysfs?, nil:
      return Outcome(
        Finding(
          check: "smmuv3.accel.backend", status: .undetermined,
          message: "which backend QEMU will use is unknown: without iommufd QEMU refuses (\"\(message)\")",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence], remedy: remedy))
    }
  }

  /// accel=on makes vfio allocate a nesting-parent HWPT; the kernel may refuse it.
  static func nestingParent(_ context: DeviceContext) -> Outcome {
    guard let probe = context.hiod?.nestingParent else {
      return Outcome(
        Finding(
          check: "smmuv3.accel.nesting-parent", status: .undetermined,
          message: "whether the kernel allows a nesting-parent HWPT is unknown: only the iommufd backend can try",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence],
          predicted: context.isPredicted))
    }
    let evidence = [
      """
      IOMMU_HWPT_ALLOC(NEST_PARENT) \(probe.allowed ? "allowed" : "refused") \
      (\(DeviceContext.source(probe.provenance)))
      """
    ]
    if probe.allowed {
      return Outcome(
        Finding(
          check: "smmuv3.accel.nesting-parent", status: .pass,
          message: "the kernel allocates the nesting-parent HWPT accel=on needs", wording: .hiodctl,
          qemuVersions: acceleratedSpan, evidence: evidence,
          caveat: "the vIOMMU object (IOMMU_VIOMMU_ALLOC) QEMU allocates next was not tried"))
    }
    return Outcome(
      Finding(
        check: "smmuv3.accel.nesting-parent", status: .fail,
        message: context.vfio(
          QEMURules.text(
            "iommufd.hwpt-alloc", in: context.qemu, [.string((probe.refusal ?? .notSupported).description)])
            ?? ""),
        qemuVersions: acceleratedSpan, evidence: evidence,
        remedy: Remedy(
          summary: "the host SMMUv3 (or its driver) cannot nest (needs stage 2, IDR0.S2P): use virtio-iommu"),
        caveat: "vfio-pci realize fails while attaching the device, before arm-smmuv3's own checks"))
  }

  /// "Wrong data type (%d) for Host SMMUv3 device info".
  static func hardwareType(_ context: DeviceContext) -> Outcome {
    guard let type = context.hardwareType else {
      return Outcome(
        Finding(
          check: "smmuv3.accel.type", status: .undetermined, message: "the host IOMMU type is unknown",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence]))
    }
    let evidence = ["host IOMMU type \(type.value) (\(DeviceContext.source(type.provenance)))"]
    guard type.value == .armSMMUv3 else {
      return Outcome(
        Finding(
          check: "smmuv3.accel.type", status: .fail,
          message: context.setIOMMUDeviceError("Wrong data type (\(type.value.rawValue)) for Host SMMUv3 device info"),
          qemuVersions: acceleratedSpan, evidence: evidence, predicted: type.provenance.isPrediction,
          remedy: Remedy(summary: "accel=on needs a host SMMUv3 behind the device")))
    }
    return Outcome(
      Finding(
        check: "smmuv3.accel.type", status: .pass, message: "the host IOMMU is an SMMUv3 (ARM_SMMUV3)",
        wording: .hiodctl,
        qemuVersions: acceleratedSpan, evidence: evidence, predicted: type.provenance.isPrediction))
  }

  /// The host IDR fields against the vSMMU's, in QEMU's order; one finding per mismatch,
  /// or one pass listing what matched.
  static func idrComparisons(_ context: DeviceContext) -> [Outcome] {
    guard let sourced = context.smmuRegisters else {
      return [
        Outcome(
          Finding(
            check: "smmuv3.accel.idr", status: .undetermined,
            message: "the host SMMUv3 ID registers are unknown (only IOMMU_GET_HW_INFO reports them)",
            wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence],
            predicted: context.isPredicted))
      ]
    }
    let host = sourced.value
    let vsmmu = VSMMUProfile(context.configuration)
    let source = DeviceContext.source(sourced.provenance)
    var outcomes: [Outcome] = []
    var matched: [String] = []

    func compare(
      _ check: String, _ field: String, ok: Bool, _ message: @autoclosure () -> String, span: String? = nil,
      remedy: @autoclosure () -> Remedy, fix: OptionsFix? = nil
    ) {
      guard !ok else {
        matched.append(field)
        return
      }
      outcomes.append(
        Outcome(
          Finding(
            check: "smmuv3.accel.\(check)", status: .fail, message: context.setIOMMUDeviceError(message()),
            qemuVersions: span ?? acceleratedSpan, evidence: ["\(field) (\(source))"], remedy: remedy()),
          fix: fix))
    }
    let fixedHost = Remedy(
      summary: "this host SMMUv3 cannot back accel=on (the field is not configurable): use virtio-iommu")

    compare(
      "stlevel", "host STLEVEL \(host.streamTableLevel), vSMMU \(vsmmu.streamTableLevel)",
      ok: host.streamTableLevel == vsmmu.streamTableLevel,
      """
      Host SMMUv3 Stream Table format mismatch \
      (host STLEVEL=\(host.streamTableLevel), QEMU STLEVEL=\(vsmmu.streamTableLevel))
      """,
      remedy: fixedHost)
    compare(
      "ttendian", "host TTENDIAN \(host.ttEndian) (\(host.ttEndianDescription)), vSMMU \(vsmmu.ttEndian)",
      ok: host.ttEndian <= vsmmu.ttEndian, "Host SMMUv3 doesn't support Little-endian translation table",
      remedy: fixedHost)
    compare(
      "ttf", "host TTF \(host.translationTableFormat), vSMMU \(vsmmu.translationTableFormat)",
      ok: host.translationTableFormat >= vsmmu.translationTableFormat,
      "Host SMMUv3 doesn't support AArch64 translation table format", remedy: fixedHost)
    compare(
      "sidsize", "host SIDSIZE \(host.sidSize), vSMMU \(vsmmu.sidSize)", ok: host.sidSize >= vsmmu.sidSize,
      "Host SMMUv3 SIDSIZE not compatible (host=\(host.sidSize), QEMU=\(vsmmu.sidSize))", remedy: fixedHost)
    compare(
      "ssidsize", "host SSIDSIZE \(host.ssidSize), vSMMU ssidsize \(vsmmu.ssidSize)",
      ok: host.ssidSize >= vsmmu.ssidSize,
      "Host SMMUv3 SSIDSIZE not compatible (host=\(host.ssidSize), QEMU=\(vsmmu.ssidSize))",
      remedy: Remedy(summary: "lower ssidsize to \(host.ssidSize), the host's SubstreamID width")
    ) { options in options.ssidsize = host.ssidSize == 0 ? nil : host.ssidSize }
    compare(
      "ril", "host RIL \(host.rangeInvalidation ? 1 : 0), vSMMU ril \(vsmmu.rangeInvalidation ? "on" : "off")",
      ok: host.rangeInvalidation || !vsmmu.rangeInvalidation, "Host SMMUv3 doesn't support Range Invalidation",
      remedy: Remedy(summary: "turn ril off: the host has no range invalidation")
    ) { $0.ril = false }
    let hostOAS = host.outputAddressBits
    let vsmmuOAS = SMMUv3Registers.outputAddressBits(oasCode: vsmmu.oasCode)
    compare(
      "oas", "host OAS \(hostOAS) bits, vSMMU \(vsmmuOAS) bits", ok: host.oasCode >= vsmmu.oasCode,
      "Host SMMUv3 supports only \(hostOAS)-bit IPA, but the vSMMU OAS implies \(vsmmuOAS)-bit IPA",
      remedy: hostOAS >= 44
        ? Remedy(summary: "use oas=44, which the host's \(hostOAS)-bit output fits")
        : Remedy(summary: "the host's \(hostOAS)-bit output is below QEMU's smallest OAS (44): use virtio-iommu"),
      fix: hostOAS >= 44 ? Self.defaultOAS : nil)
    compare(
      "ats", "host ATS \(host.ats ? 1 : 0), vSMMU ats \(vsmmu.ats ? "on" : "off")", ok: host.ats || !vsmmu.ats,
      "Host SMMUv3 doesn't support Address Translation Services",
      span: acceleratedSpan + " (check seen at qemu @13b941aa; release UNVERIFIED)",
      remedy: Remedy(summary: "turn ats off: the host SMMUv3 has no ATS")
    ) { $0.ats = nil }
    for (size, hostHas) in [("4K", host.granule4K), ("16K", host.granule16K), ("64K", host.granule64K)] {
      compare(
        "gran\(size.lowercased())", "host GRAN\(size) \(hostHas ? 1 : 0), vSMMU 1", ok: hostHas,
        "Host SMMUv3 doesn't support \(size) translation granule", remedy: fixedHost)
    }
    if outcomes.isEmpty {
      outcomes.append(
        Outcome(
          Finding(
            check: "smmuv3.accel.idr", status: .pass,
            message: "the host SMMUv3's ID registers satisfy the vSMMU's", wording: .hiodctl,
            qemuVersions: acceleratedSpan, evidence: matched.map { "\($0) (\(source))" })))
    }
    return outcomes
  }
}

/// arm-smmuv3, in the registry.
struct SMMUv3Model: VIOMMUModelDefinition {
  var qemuDevice: String { "arm-smmuv3" }
  var libvirtModel: String { "smmuv3" }
  var machines: VIOMMUMachines { .armVirt }

  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType> {
    .byDefault(MachineType(family: MachineType.virt, version: nil), "arm-smmuv3 exists only on the Arm virt machine")
  }

  func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    SMMUv3Checks.configurationOutcomes(configuration)
  }

  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] {
    SMMUv3Checks.deviceOutcomes(context)
  }

  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    VIOMMUSuggester.smmuv3(base, devices: devices, host: host)
  }

  /// accel, oas, ssidsize, ril, ats.
  func strength(_ configuration: VIOMMUConfiguration) -> [Int] {
    func flag(_ value: Effective<Bool>?) -> Int { value?.value == true ? 1 : 0 }
    return [
      flag(configuration.accel), configuration.oas?.value ?? 0, configuration.ssidsize?.value ?? 0,
      flag(configuration.ril), flag(configuration.ats),
    ]
  }

  func qemuDeviceOption(_ configuration: VIOMMUConfiguration, properties: [String]) -> String {
    guard configuration.qemu >= QEMUVersion(major: 10, minor: 1) else {
      // Before user-creatable arm-smmuv3 (multi-SMMU series, merged for 10.1 as far as
      // hiodctl knows — UNVERIFIED) the only SMMUv3 is the machine-wide one, which takes
      // no properties; accel and its options do not exist there anyway.
      return "-machine virt,iommu=smmuv3"
    }
    // A user-created SMMUv3 is attached to a PCIe root complex; pcie.0 is virt's.
    return (["-device arm-smmuv3", "primary-bus=pcie.0"] + properties).joined(separator: ",")
  }

  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String? {
    // libvirt's smmuv3 model is QEMU's machine-wide `-machine virt,iommu=smmuv3`. A
    // user-created `-device arm-smmuv3,accel=on` cannot be added through
    // <qemu:commandline> either: those arguments come after libvirt's vfio-pci devices,
    // too late for the SMMU to own their bus.
    configuration.accel?.value == true
      ? nil : VIOMMUConfiguration.iommuElement(model: libvirtModel, driverAttributes: [])
  }

  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  {
    guard driver?.attribute("accel") == "on" else { return .machineWide }
    // libvirt 12's accel attributes need the user-creatable arm-smmuv3.
    var properties: [(String, String)] = [
      ("driver", "\"arm-smmuv3\""), ("primary-bus", "\"pcie.0\""), ("id", "\"iommu0\""), ("accel", "true"),
    ]
    for (attribute, property) in [("ats", "ats"), ("ril", "ril")] {
      if let value = driver?.attribute(attribute) {
        properties.append((property, value == "on" ? "true" : "false"))
      }
    }
    for attribute in ["oas", "ssidsize"] {
      if let value = driver?.attribute(attribute) { properties.append((attribute, value)) }
    }
    return .device(properties)
  }

  func libvirtNotes(_ configuration: VIOMMUConfiguration) -> [String] {
    guard configuration.accel?.value == true else { return [] }
    return [
      """
      hiodctl knows no libvirt XML for arm-smmuv3,accel=on: \
      libvirt's smmuv3 model is the machine-wide emulated SMMUv3
      """
    ]
  }

  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)] {
    [("viommu.smmuv3.accel", String(compatible))]
  }
}
