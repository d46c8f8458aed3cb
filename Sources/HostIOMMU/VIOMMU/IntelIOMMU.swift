// hiodctl — intel-iommu's checks: vtd_decide_config, caching mode, vtd_check_hiod (aw-bits)
// and the x-flts (first-stage translation) host checks, in QEMU's order.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Messages and order: abi-digest §2.1 (qemu/qemu hw/i386/intel_iommu.c @cac33cb5,
// intel_iommu_accel.c @554a719e). The pre-10.0 aw-bits wording ("Supported values for
// aw-bits are: %d, %d") is from the qemu-devel patch that added x-flts (f648abfc), which
// replaced it.

/// intel-iommu's checks, configuration and per device.
enum IntelIOMMUChecks {
  /// The aw-bits values intel-iommu accepts.
  static let allowedAWBits = [39, 48]

  /// The largest aw-bits intel-iommu allows that a host of `hostAW` bits accepts.
  static func largestAllowedAWBits(notAbove hostAW: Int) -> Int? {
    allowedAWBits.last { $0 <= hostAW }
  }

  // MARK: Configuration (vtd_decide_config)

  /// intel-iommu's own realize checks: they fail the vIOMMU, and so every device.
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard let awBits = configuration.awBits, let xFlts = configuration.xFlts,
      let scalable = configuration.scalableMode
    else { return [] }
    let qemu = configuration.qemu
    let flts = xFlts.value && qemu >= .v10_0
    var outcomes: [Outcome] = []

    if flts && !scalable.value {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.x-flts.scalable-mode", status: .fail, message: "x-flts is only available in scalable mode",
            qemuVersions: ReleaseSpan.since(.v10_0).description,
            evidence: ["x-flts=on (\(xFlts.reason))", "x-scalable-mode=off (\(scalable.reason))"],
            remedy: Remedy(summary: "x-flts needs x-scalable-mode=on")),
          fix: { $0.scalableMode = true }))
    }

    let awEvidence = "aw-bits \(awBits.value) (\(awBits.reason))"
    if !flts && !allowedAWBits.contains(awBits.value) {
      let message =
        qemu >= .v10_0
        ? "\(scalable.value ? "Scalable mode(flts=off)" : "Legacy mode"): supported values for aw-bits are: 39, 48"
        : "Supported values for aw-bits are: 39, 48"
      let replacement = awBits.value > 48 ? 48 : 39
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .fail, message: message,
            qemuVersions: (qemu >= .v10_0 ? ReleaseSpan.since(.v10_0) : .through(.v9_2)).description,
            evidence: [awEvidence],
            remedy: Remedy(summary: "intel-iommu supports aw-bits 39 and 48 only: use \(replacement)")),
          fix: { $0.awBits = replacement }))
    } else if flts && awBits.value != 48 {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .fail,
            message: "Scalable mode(x-flts=on): supported value for aw-bits is: 48",
            qemuVersions: ReleaseSpan.since(.v10_0).description, evidence: [awEvidence],
            remedy: Remedy(summary: "x-flts=on needs aw-bits 48")),
          fix: { $0.awBits = 48 }))
    } else {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .pass,
            message: "aw-bits \(awBits.value) is a value intel-iommu supports" + (flts ? " with x-flts=on" : ""),
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: [awEvidence])))
    }
    return outcomes
  }

  // MARK: Devices

  /// The checks for one device, in QEMU's order: the nesting-parent HWPT (vfio attach),
  /// then `vtd_dev_set_iommu_device` (caching mode from 10.2, duplicate, aw-bits, x-flts),
  /// then the machine-init-done caching-mode check of ≤ 10.1.
  static func deviceOutcomes(_ context: DeviceContext, registered: inout Set<GuestPCIAddress>) -> [Outcome] {
    let configuration = context.configuration
    let qemu = context.qemu
    let flts = configuration.xFlts?.value == true && qemu >= .v10_0
    var outcomes: [Outcome] = []

    if flts && qemu >= .v11_0, context.qemuBackend != .legacy, context.hiod != nil {
      outcomes.append(nestingParent(context))
    }
    if qemu >= .v10_2 {
      outcomes.append(cachingMode(context))
    }
    if qemu >= .v9_1, let placement = context.input.guestPlacement {
      if registered.contains(placement.address) {
        outcomes.append(
          Outcome(
            Finding(
              check: "intel.host-iommu-device.duplicate", status: .fail,
              message: context.setIOMMUDeviceError("Host IOMMU device already exist"),
              qemuVersions: ReleaseSpan.since(.v9_1).description,
              evidence: ["another host device is already registered at guest \(placement.address)"],
              remedy: Remedy(summary: "give every assigned device its own guest slot"))))
      }
      registered.insert(placement.address)
    }
    if let awBits = awBits(context) { outcomes.append(awBits) }
    if flts {
      outcomes += firstStage(context)
    }
    if qemu < .v10_2 {
      outcomes.append(cachingMode(context))
    }
    return outcomes
  }

  /// caching-mode: required for any VFIO device. Where and how QEMU says so moved in 10.2.
  static func cachingMode(_ context: DeviceContext) -> Outcome {
    let configuration = context.configuration
    let qemu = context.qemu
    let effective = configuration.cachingMode ?? .byDefault(false, "intel-iommu defaults to caching-mode=off")
    let evidence = ["caching-mode=\(effective.value ? "on" : "off") (\(effective.reason))"]
    // The 10.2 boundary is inferred from the mst PULL of Oct 2025 (UNVERIFIED).
    let span = qemu >= .v10_2 ? ReleaseSpan.since(.v10_2) : .through(.v10_1)
    guard !effective.value else {
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .pass, message: "caching-mode=on, which device assignment needs",
          wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: evidence))
    }
    let remedy = Remedy(summary: "turn caching-mode on: intel-iommu needs it for any assigned device")
    let fix: OptionsFix = { $0.cachingMode = true }
    if qemu >= .v10_2 {
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .fail,
          message: context.setIOMMUDeviceError(
            "Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU."),
          qemuVersions: span.description + " (release inferred)", evidence: evidence, remedy: remedy,
          caveat: context.input.hotplug
            ? "hot-plugged while the guest has DMA remapping on, QEMU's MAP notifier check fires first: \"memory listener initialization failed: Region vtd-…: device … requires caching mode: Operation not supported\""
            : nil),
        fix: fix)
    }
    if context.input.hotplug {
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .fail,
          message: "Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU.",
          qemuVersions: span.description, evidence: evidence, remedy: remedy,
          caveat: "QEMU's pc machine refuses the hot-plug before vfio-pci realizes"),
        fix: fix)
    }
    return Outcome(
      Finding(
        check: "intel.caching-mode", status: .fail,
        message: "We need to set caching-mode=on for intel-iommu to enable device assignment with IOMMU protection.",
        qemuVersions: span.description, evidence: evidence, remedy: remedy,
        caveat: "QEMU checks this once, when the machine is ready (machine-init-done), and exits"),
      fix: fix)
  }

  /// `vtd_check_hiod`: aw-bits against the host's address width (`get_cap(AW_BITS)`).
  static func awBits(_ context: DeviceContext) -> Outcome? {
    guard let hiod = context.hiod, let awBits = context.configuration.awBits else { return nil }
    let aw = awBits.value
    var evidence = ["vIOMMU aw-bits \(aw) (\(awBits.reason))", context.backendEvidence]
    let host: Int
    switch hiod.getCap(.awBits) {
    case .value(let value, let provenance):
      host = Int(value)
      let last = hiod.iovaRanges?.value.last.map { "; last usable IOVA \($0.last.hex64)" } ?? "; no IOVA ranges: 64"
      evidence.append("host aw_bits \(host) (\(DeviceContext.source(provenance))\(last))")
    case .unknown(let reason), .unsupported(let reason):
      return Outcome(
        Finding(
          check: "intel.aw-bits", status: .undetermined,
          message: "the host's address width is unknown: \(reason)", wording: .hiodctl,
          qemuVersions: ReleaseSpan.since(.v9_1).description, evidence: evidence, predicted: context.isPredicted,
          remedy: Remedy(
            summary: "realize the device through the kernel (--backend legacy or iommufd) to learn aw_bits")))
    }
    let predicted = context.isPredicted
    guard context.qemu >= .v9_1 else {
      return Outcome(
        Finding(
          check: "intel.aw-bits", status: .pass,
          message: "QEMU 9.0 does not compare aw-bits with the host (the check arrived in 9.1)", wording: .hiodctl,
          qemuVersions: ReleaseSpan.through(.v9_0).description, evidence: evidence, predicted: predicted,
          caveat: aw > host
            ? "the guest may use IOVAs above the host's \(host) bits; their DMA mappings then fail at run time" : nil))
    }
    guard aw > host else {
      return Outcome(
        Finding(
          check: "intel.aw-bits", status: .pass, message: "aw-bits \(aw) ≤ host aw-bits \(host)", wording: .hiodctl,
          qemuVersions: ReleaseSpan.since(.v9_1).description, evidence: evidence, predicted: predicted))
    }
    let flts = context.configuration.xFlts?.value == true && context.qemu >= .v10_0
    let replacement = largestAllowedAWBits(notAbove: host)
    let remedy: Remedy
    let fix: OptionsFix?
    switch replacement {
    case let value? where flts && value < 48:
      remedy = Remedy(
        summary:
          "x-flts=on needs aw-bits 48, more than the host's \(host) bits: turn x-flts off and lower aw-bits to \(value)"
      )
      fix = {
        $0.xFlts = nil
        $0.fs1gp = nil
        $0.awBits = value
      }
    case let value?:
      remedy = Remedy(
        summary: "lower aw-bits to \(value), the largest value intel-iommu allows that fits the host's \(host) bits")
      fix = { $0.awBits = value }
    case nil:
      remedy = Remedy(
        summary:
          "no aw-bits intel-iommu allows (39, 48) fits the host's \(host) bits; virtio-iommu does not compare aw-bits with the host"
      )
      fix = nil
    }
    return Outcome(
      Finding(
        check: "intel.aw-bits", status: .fail,
        message: context.setIOMMUDeviceError("aw-bits \(aw) > host aw-bits \(host)"),
        qemuVersions: ReleaseSpan.since(.v9_1).description
          + " (prefix \"\(context.setIOMMUDevicePrefix)\": \(context.setIOMMUDevicePrefixSpan))",
        evidence: evidence, predicted: predicted, remedy: remedy),
      fix: fix)
  }

  // MARK: x-flts

  /// The fix that gives up first-stage translation.
  static let dropFirstStage: OptionsFix = {
    $0.xFlts = nil
    $0.fs1gp = nil
  }

  /// x-flts=on in `vtd_check_hiod`: QEMU 10.0–10.2 refuse every host device; 11.0 checks
  /// the backend, the IOMMU type, FS1GP and the guest topology (`vtd_check_hiod_accel`).
  static func firstStage(_ context: DeviceContext) -> [Outcome] {
    guard context.qemu >= .v11_0 else {
      return [
        Outcome(
          Finding(
            check: "intel.x-flts", status: .fail,
            // QEMU's spelling, "uncompatible", kept.
            message: context.setIOMMUDeviceError("host device is uncompatible with stage-1 translation"),
            qemuVersions: ReleaseSpan.between(.v10_0, .v10_2).description,
            evidence: ["x-flts=on: QEMU 10.0–10.2 accept no host device with first-stage translation"],
            remedy: Remedy(summary: "turn x-flts off, or use QEMU 11.0, which accepts host devices with x-flts=on")),
          fix: dropFirstStage)
      ]
    }
    guard context.hiod != nil || context.qemuBackend == .legacy else { return [] }
    var outcomes = [backend(context)]
    outcomes.append(hardwareType(context))
    if let fs1gp = fs1gp(context) { outcomes.append(fs1gp) }
    outcomes.append(bridge(context))
    return outcomes
  }

  private static var acceleratedSpan: String { ReleaseSpan.since(.v11_0).description }

  /// "Need IOMMUFD backend when x-flts=on": the legacy backend cannot nest.
  static func backend(_ context: DeviceContext) -> Outcome {
    let remedy = Remedy(
      summary: "give the device the iommufd backend (or turn x-flts off)",
      qemu: iommufdBackendOption(for: context.address),
      host: "the host needs /dev/iommu (CONFIG_IOMMUFD) and VFIO cdevs (/dev/vfio/devices/, Linux ≥ 6.6)")
    switch context.qemuBackend {
    case .legacy?:
      return Outcome(
        Finding(
          check: "intel.x-flts.backend", status: .fail,
          message: context.setIOMMUDeviceError("Need IOMMUFD backend when x-flts=on"),
          qemuVersions: acceleratedSpan, evidence: [context.backendEvidence], remedy: remedy))
    case .iommufd?:
      return Outcome(
        Finding(
          check: "intel.x-flts.backend", status: .pass, message: "the device uses the iommufd backend x-flts=on needs",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence]))
    case .sysfs?, nil:
      return Outcome(
        Finding(
          check: "intel.x-flts.backend", status: .undetermined,
          message:
            "which backend QEMU will use is unknown: with the legacy one QEMU refuses (\"Need IOMMUFD backend when x-flts=on\")",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence], predicted: true,
          remedy: remedy))
    }
  }

  /// "Incompatible host platform IOMMU type %d": nesting onto a VT-d needs a VT-d.
  static func hardwareType(_ context: DeviceContext) -> Outcome {
    guard let type = context.hardwareType else {
      return Outcome(
        Finding(
          check: "intel.x-flts.type", status: .undetermined,
          message: "the host IOMMU type is unknown: the legacy backend cannot report it and sysfs does not say",
          wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: [context.backendEvidence]))
    }
    let predicted = type.provenance.isPrediction
    let evidence = [
      "host IOMMU type \(type.value) (\(DeviceContext.source(type.provenance)))"
    ]
    let caveat =
      context.qemuBackend == .legacy
      ? "with the legacy backend QEMU reads no type (0) but stops at the backend check first; this is what the iommufd backend would report"
      : nil
    guard type.value == .intelVTd else {
      return Outcome(
        Finding(
          check: "intel.x-flts.type", status: .fail,
          message: context.setIOMMUDeviceError("Incompatible host platform IOMMU type \(type.value.rawValue)"),
          qemuVersions: acceleratedSpan, evidence: evidence, predicted: predicted,
          remedy: Remedy(summary: "x-flts nests onto a host VT-d unit; this host IOMMU is not one: turn x-flts off"),
          caveat: caveat),
        fix: dropFirstStage)
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.type", status: .pass, message: "the host IOMMU is a VT-d unit (INTEL_VTD)",
        wording: .hiodctl,
        qemuVersions: acceleratedSpan, evidence: evidence, predicted: predicted, caveat: caveat))
  }

  /// "First stage 1GB large page is unsupported by host IOMMU": fs1gp=on needs CAP.FS1GP.
  static func fs1gp(_ context: DeviceContext) -> Outcome? {
    guard let fs1gp = context.configuration.fs1gp, fs1gp.value else { return nil }
    let setting = "fs1gp=on (\(fs1gp.reason))"
    guard let registers = context.intelRegisters else {
      return Outcome(
        Finding(
          check: "intel.x-flts.fs1gp", status: .undetermined,
          message: "the host's VT-d CAP register is unknown, so FS1GP cannot be checked", wording: .hiodctl,
          qemuVersions: acceleratedSpan, evidence: [setting]))
    }
    let capability = registers.value.capability
    let evidence = [
      setting,
      "host CAP \(capability.raw.hex64): FS1GP (bit 56) \(capability.firstStage1GiBPages ? "set" : "clear") (\(DeviceContext.source(registers.provenance)))",
    ]
    let predicted = registers.provenance.isPrediction
    guard capability.firstStage1GiBPages else {
      return Outcome(
        Finding(
          check: "intel.x-flts.fs1gp", status: .fail,
          message: context.setIOMMUDeviceError("First stage 1GB large page is unsupported by host IOMMU"),
          qemuVersions: acceleratedSpan, evidence: evidence, predicted: predicted,
          remedy: Remedy(summary: "turn fs1gp off: the host IOMMU has no first-stage 1 GiB pages")),
        // Only while x-flts stays on: another finding's fix may already have dropped it.
        fix: { if $0.xFlts == true { $0.fs1gp = false } })
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.fs1gp", status: .pass, message: "the host IOMMU has first-stage 1 GiB pages (CAP.FS1GP)",
        wording: .hiodctl, qemuVersions: acceleratedSpan, evidence: evidence, predicted: predicted))
  }

  /// "Host device downstream to a PCI bridge is unsupported when x-flts=on": depends on the
  /// guest topology, which only the caller can know.
  static func bridge(_ context: DeviceContext) -> Outcome {
    guard let placement = context.input.guestPlacement else {
      return Outcome(
        Finding(
          check: "intel.x-flts.pci-bridge", status: .pass,
          message: "not behind a PCI bridge in the guest (assumed: the host cannot know the guest topology)",
          wording: .hiodctl, qemuVersions: acceleratedSpan,
          caveat:
            "keep the device on a PCIe root port in the guest: behind a PCIe-to-PCI or PCI bridge QEMU refuses it (\"Host device downstream to a PCI bridge is unsupported when x-flts=on\")"
        ))
    }
    guard let alias = placement.alias else {
      return Outcome(
        Finding(
          check: "intel.x-flts.pci-bridge", status: .pass,
          message: "guest \(placement.address) is not behind a PCI bridge", wording: .hiodctl,
          qemuVersions: acceleratedSpan))
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.pci-bridge", status: .fail,
        message: context.setIOMMUDeviceError("Host device downstream to a PCI bridge is unsupported when x-flts=on"),
        qemuVersions: acceleratedSpan,
        evidence: ["guest \(placement.address) issues DMA as \(alias): it sits behind a bridge that aliases it"],
        remedy: Remedy(summary: "plug the device into a PCIe root port in the guest, not behind a PCI bridge")))
  }

  /// The nesting-parent HWPT vfio allocates for x-flts=on (11.0): the kernel's refusal
  /// fails vfio-pci realize before intel-iommu sees the device.
  static func nestingParent(_ context: DeviceContext) -> Outcome {
    let span = acceleratedSpan
    let registers = context.intelRegisters
    var evidence = [context.backendEvidence]
    if let registers {
      let ecap = registers.value.extendedCapability
      evidence.append(
        "host ECAP \(ecap.raw.hex64): NEST (bit 26) \(ecap.nestedTranslation ? "set" : "clear"), SMTS (bit 43) \(ecap.scalableMode ? "set" : "clear") (\(DeviceContext.source(registers.provenance)))"
      )
      if registers.value.flags & 1 != 0 {
        evidence.append(
          "IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: QEMU skips read-only mappings in the nesting parent (bypass_ro)")
      }
    }
    // A unit that has NEST and SMTS but still refuses: the kernel runs VT-d in legacy mode.
    let hardwareCanNest = registers?.value.extendedCapability.registersAllowNesting == true
    let refusedRemedy =
      hardwareCanNest
      ? Remedy(
        summary: "the unit can nest but the kernel refused: run the host kernel's VT-d in scalable mode",
        host: "boot the host with intel_iommu=on,sm_on")
      : Remedy(summary: "the host IOMMU cannot nest (ECAP.NEST or ECAP.SMTS clear): turn x-flts off")

    if let probe = context.hiod?.nestingParent {
      evidence.append(
        "IOMMU_HWPT_ALLOC(NEST_PARENT) \(probe.allowed ? "allowed" : "refused with \(probe.refusal?.symbol ?? "an error")") (\(DeviceContext.source(probe.provenance)))"
      )
      if probe.allowed {
        return Outcome(
          Finding(
            check: "intel.x-flts.nesting-parent", status: .pass,
            message: "the kernel allocates the nesting-parent HWPT x-flts=on needs", wording: .hiodctl,
            qemuVersions: span, evidence: evidence, predicted: probe.provenance.isPrediction))
      }
      let errno = probe.refusal.map { "\($0.symbol)" } ?? "refused"
      return Outcome(
        Finding(
          check: "intel.x-flts.nesting-parent", status: .fail,
          message: context.vfioPrefix
            + "the kernel refuses the nesting-parent HWPT QEMU allocates for x-flts=on (IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_NEST_PARENT: \(errno))",
          wording: .hiodctl, qemuVersions: span, evidence: evidence, predicted: probe.provenance.isPrediction,
          remedy: refusedRemedy,
          caveat: "vfio-pci realize fails while attaching the device, before intel-iommu's own checks"),
        fix: hardwareCanNest ? nil : dropFirstStage)
    }
    guard let registers else {
      return Outcome(
        Finding(
          check: "intel.x-flts.nesting-parent", status: .undetermined,
          message: "whether the kernel allows a nesting-parent HWPT is unknown (no probe, no VT-d registers)",
          wording: .hiodctl, qemuVersions: span, evidence: evidence))
    }
    if hardwareCanNest {
      return Outcome(
        Finding(
          check: "intel.x-flts.nesting-parent", status: .pass,
          message: "the unit has ECAP.NEST and ECAP.SMTS, which a nesting-parent HWPT needs", wording: .hiodctl,
          qemuVersions: span, evidence: evidence, predicted: registers.provenance.isPrediction,
          caveat: "the kernel must also run VT-d in scalable mode (intel_iommu=sm_on, the default on recent kernels)"))
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.nesting-parent", status: .fail,
        message: context.vfioPrefix
          + "the kernel would refuse the nesting-parent HWPT QEMU allocates for x-flts=on (IOMMU_HWPT_ALLOC with IOMMU_HWPT_ALLOC_NEST_PARENT: EOPNOTSUPP expected)",
        wording: .hiodctl, qemuVersions: span, evidence: evidence, predicted: registers.provenance.isPrediction,
        remedy: refusedRemedy, caveat: "inferred from the registers; the kernel's exact errno is UNVERIFIED"),
      fix: dropFirstStage)
  }
}
