// hiodctl — intel-iommu's checks: vtd_decide_config, the caching-mode requirement,
// vtd_dev_set_iommu_device / vtd_check_hiod (aw-bits) and the first-stage translation
// (x-flts, fsts in 11.1) host checks, in QEMU's order.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Messages, their releases and sources: QEMU/QEMURules.swift (intel.*). Order:
// hw/i386/intel_iommu.c vtd_realize → vtd_decide_config; per device
// vtd_dev_set_iommu_device (10.2.2: caching mode first); machine-init-done
// vtd_machine_done_notify_one (7.2, 10.0.13).

import SystemPackage

/// intel-iommu's checks, configuration and per device.
enum IntelIOMMUChecks {
  /// The aw-bits values intel-iommu accepts.
  static let allowedAWBits = [39, 48]

  /// The largest aw-bits intel-iommu allows that a host of `hostAW` bits accepts.
  static func largestAllowedAWBits(notAbove hostAW: Int) -> Int? {
    allowedAWBits.last { $0 <= hostAW }
  }

  /// First-stage translation is on (and the release has it).
  static func firstStage(_ configuration: VIOMMUConfiguration) -> Bool {
    configuration.xFlts?.value == true
  }

  /// The release's name of the first-stage property (`x-flts`, `fsts`).
  static func firstStageName(_ configuration: VIOMMUConfiguration) -> String {
    configuration.qemuName(of: .firstStage) ?? "x-flts"
  }

  // MARK: Configuration (vtd_decide_config)

  /// intel-iommu's own realize checks: they fail the vIOMMU, and so every device.
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard let awBits = configuration.awBits else { return [] }
    let qemu = configuration.qemu
    let scalable = configuration.scalableMode ?? .byDefault(false, "intel-iommu defaults to scalable mode off")
    let flts = firstStage(configuration)
    let fltsName = firstStageName(configuration)
    let scalableName = configuration.qemuName(of: .scalableMode) ?? "x-scalable-mode"
    var outcomes: [Outcome] = []

    if flts && !scalable.value, let message = QEMURules.text("intel.first-stage.scalable", in: qemu) {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.x-flts.scalable-mode", status: .fail, message: message,
            qemuVersions: QEMURules.releases("intel.first-stage.scalable", in: qemu),
            evidence: ["\(fltsName)=on", "\(scalableName)=off (\(scalable.reason))"],
            remedy: Remedy(summary: "\(fltsName) needs \(scalableName)=on")),
          fix: { $0.scalableMode = true }))
    }

    let awEvidence = "aw-bits \(awBits.value) (\(awBits.reason))"
    if !flts && !allowedAWBits.contains(awBits.value) {
      let mode =
        scalable.value
        ? QEMURules.text("intel.aw-bits.mode.scalable", in: qemu)
        : QEMURules.text("intel.aw-bits.mode.legacy", in: qemu)
      let arguments: [FormatArgument] = (mode.map { [.string($0)] } ?? []) + [39, 48]
      let replacement = awBits.value > 48 ? 48 : 39
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .fail,
            message: QEMURules.text("intel.aw-bits.allowed", in: qemu, arguments) ?? "",
            qemuVersions: QEMURules.releases("intel.aw-bits.allowed", in: qemu), evidence: [awEvidence],
            remedy: Remedy(summary: "intel-iommu supports aw-bits 39 and 48 only: use \(replacement)")),
          fix: { $0.awBits = replacement }))
    } else if flts && awBits.value != 48 {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .fail,
            message: QEMURules.text("intel.aw-bits.first-stage", in: qemu, [48]) ?? "",
            qemuVersions: QEMURules.releases("intel.aw-bits.first-stage", in: qemu), evidence: [awEvidence],
            remedy: Remedy(summary: "\(fltsName)=on needs aw-bits 48")),
          fix: { $0.awBits = 48 }))
    } else {
      outcomes.append(
        Outcome(
          Finding(
            check: "intel.aw-bits.allowed", status: .pass,
            message: "aw-bits \(awBits.value) is a value intel-iommu supports" + (flts ? " with \(fltsName)=on" : ""),
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: [awEvidence])))
    }

    if let pasid = configuration.pasidBits, pasid.value > 0 {
      if !scalable.value, let message = QEMURules.text("intel.pasid.scalable", in: qemu) {
        outcomes.append(
          Outcome(
            Finding(
              check: "intel.pasid.scalable-mode", status: .fail, message: message,
              qemuVersions: QEMURules.releases("intel.pasid.scalable", in: qemu),
              evidence: ["pasid-bits=\(pasid.value)", "\(scalableName)=off"],
              remedy: Remedy(summary: "PASID needs \(scalableName)=on")),
            fix: { $0.scalableMode = true }))
      } else if pasid.value > 20, let message = QEMURules.text("intel.pasid.width", in: qemu, [.of(pasid.value), 20]) {
        outcomes.append(
          Outcome(
            Finding(
              check: "intel.pasid.width", status: .fail, message: message,
              qemuVersions: QEMURules.releases("intel.pasid.width", in: qemu), evidence: ["pasid-bits=\(pasid.value)"],
              remedy: Remedy(summary: "PCI allows at most 20 PASID bits")),
            fix: { $0.pasidBits = 20 }))
      }
    }
    return outcomes
  }

  // MARK: Devices

  /// The checks for one device, in QEMU's order: the nesting-parent HWPT (vfio's attach,
  /// with first-stage translation on 11.0), then `vtd_dev_set_iommu_device` (caching mode
  /// from 10.2, duplicate, aw-bits, first stage), then the machine-init-done caching-mode
  /// check of 10.1 and older.
  static func deviceOutcomes(_ context: DeviceContext, registered: inout Set<String>) -> [Outcome] {
    let configuration = context.configuration
    let qemu = context.qemu
    let flts = firstStage(configuration)
    var outcomes: [Outcome] = []

    // The nesting-parent HWPT is vfio's attach, before the memory listener: VFIORealize
    // runs it (nestingParentAtAttach).
    let setIOMMUDevice = QEMURules.applies("vfio.set-iommu-device.prefix", in: qemu)
    if QEMURules.applies("intel.caching-mode.set-iommu-device", in: qemu) {
      outcomes.append(cachingMode(context))
    }
    if setIOMMUDevice {
      if registered.contains(context.placement.ownKey) {
        outcomes.append(
          Outcome(
            Finding(
              check: "intel.host-iommu-device.duplicate", status: .fail,
              message: context.setIOMMUDeviceError(QEMURules.text("intel.host-iommu-device.duplicate", in: qemu) ?? ""),
              qemuVersions: QEMURules.releases("intel.host-iommu-device.duplicate", in: qemu),
              evidence: ["another host device is already registered at guest \(context.placement.address)"],
              remedy: Remedy(summary: "give every assigned device its own guest slot"))))
      }
      registered.insert(context.placement.ownKey)
    }
    if let awBits = awBits(context) { outcomes.append(awBits) }
    if flts {
      outcomes += firstStage(context)
    }
    if QEMURules.applies("intel.caching-mode.machine-done", in: qemu) {
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
    let atSetIOMMUDevice = QEMURules.applies("intel.caching-mode.set-iommu-device", in: qemu)
    guard !effective.value else {
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .pass, message: "caching-mode=on, which device assignment needs",
          wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: evidence),
        phase: atSetIOMMUDevice ? nil : .machineDone)
    }
    let remedy = Remedy(summary: "turn caching-mode on: intel-iommu needs it for any assigned device")
    let fix: OptionsFix = { $0.cachingMode = true }
    let text = "Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU."
    if atSetIOMMUDevice {
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .fail,
          message: context.setIOMMUDeviceError(QEMURules.text("intel.caching-mode.set-iommu-device", in: qemu) ?? text),
          qemuVersions: QEMURules.releases("intel.caching-mode.set-iommu-device", in: qemu), evidence: evidence,
          remedy: remedy,
          caveat: context.input.hotplug
            ? """
            hot-plugged while the guest has DMA remapping on, QEMU's MAP notifier check fires first: \
            \"memory listener initialization failed: Region vtd-…: device … requires caching mode: \
            Operation not supported\"
            """
            : nil),
        fix: fix)
    }
    if context.input.hotplug {
      // pc_hotplug_allowed refuses the device_add before vfio-pci realizes.
      return Outcome(
        Finding(
          check: "intel.caching-mode", status: .fail, message: text,
          qemuVersions: QEMURules.releases("intel.caching-mode.machine-done", in: qemu), evidence: evidence,
          remedy: remedy, caveat: "QEMU's pc machine refuses the hot-plug before vfio-pci realizes"),
        fix: fix)
    }
    return Outcome(
      Finding(
        check: "intel.caching-mode", status: .fail,
        message: QEMURules.text("intel.caching-mode.machine-done", in: qemu) ?? "",
        qemuVersions: QEMURules.releases("intel.caching-mode.machine-done", in: qemu), evidence: evidence,
        remedy: remedy, caveat: "QEMU checks this once, when the machine is ready (machine-init-done), and exits"),
      fix: fix, phase: .machineDone)
  }

  /// `vtd_check_hiod`: aw-bits against the host's address width (`get_cap(AW_BITS)`).
  static func awBits(_ context: DeviceContext) -> Outcome? {
    guard let hiod = context.hiod, let awBits = context.configuration.awBits else { return nil }
    let qemu = context.qemu
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
          qemuVersions: QEMURules.releases("intel.aw-bits.host", in: qemu), evidence: evidence,
          predicted: context.isPredicted,
          remedy: Remedy(summary: "realize the device through the kernel (--backend legacy) to learn aw_bits")))
    }
    let predicted = context.isPredicted
    guard let format = QEMURules.text("intel.aw-bits.host", in: qemu, [.of(aw), .of(host)]) else {
      // No host check before 9.1. Observed with QEMU 7.2 (VM rig oracle): aw-bits 48 on a
      // 39-bit host starts, and the guest's NIC works, because Linux allocates IOVAs below
      // 4 GiB first.
      return Outcome(
        Finding(
          check: "intel.aw-bits", status: .pass,
          message: "QEMU \(qemu) does not compare aw-bits with the host (the check arrived in 9.1)", wording: .hiodctl,
          qemuVersions: ReleaseSpan.through(.v9_0).description, evidence: evidence, predicted: predicted,
          caveat: aw > host
            ? """
            the guest may use IOVAs above the host's \(host) bits; QEMU cannot map those \
            (a Linux guest allocates IOVAs below 4 GiB first, so its devices usually work)
            """
            : nil))
    }
    guard aw > host else {
      return Outcome(
        Finding(
          check: "intel.aw-bits", status: .pass, message: "aw-bits \(aw) ≤ host aw-bits \(host)", wording: .hiodctl,
          qemuVersions: QEMURules.releases("intel.aw-bits.host", in: qemu), evidence: evidence, predicted: predicted))
    }
    let flts = firstStage(context.configuration)
    let fltsName = firstStageName(context.configuration)
    let replacement = largestAllowedAWBits(notAbove: host)
    let remedy: Remedy
    let fix: OptionsFix?
    switch replacement {
    case let value? where flts && value < 48:
      remedy = Remedy(
        summary:
          """
          \(fltsName)=on needs aw-bits 48, more than the host's \(host) bits: \
          turn \(fltsName) off and lower aw-bits to \(value)
          """
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
          """
          no aw-bits intel-iommu allows (39, 48) fits the host's \(host) bits; \
          virtio-iommu does not compare aw-bits with the host
          """
      )
      fix = nil
    }
    return Outcome(
      Finding(
        check: "intel.aw-bits", status: .fail, message: context.setIOMMUDeviceError(format),
        qemuVersions: QEMURules.releases("intel.aw-bits.host", in: qemu)
          + " (prefix \"\(context.setIOMMUDevicePrefix)\": \(context.setIOMMUDevicePrefixSpan))",
        evidence: evidence, predicted: predicted, remedy: remedy),
      fix: fix)
  }

  // MARK: First-stage translation

  /// The fix that gives up first-stage translation.
  static let dropFirstStage: OptionsFix = {
    $0.xFlts = nil
    $0.fs1gp = nil
  }

  /// First-stage translation in `vtd_check_hiod`: QEMU 10.0–10.2 refuse every host device;
  /// 11.0 checks the backend, the IOMMU type, FS1GP, (11.1) PASID bits and the topology.
  static func firstStage(_ context: DeviceContext) -> [Outcome] {
    let qemu = context.qemu
    if let message = QEMURules.text("intel.first-stage.host", in: qemu) {
      return [
        Outcome(
          Finding(
            check: "intel.x-flts", status: .fail,
            // QEMU's spelling, "uncompatible", kept.
            message: context.setIOMMUDeviceError(message),
            qemuVersions: QEMURules.releases("intel.first-stage.host", in: qemu),
            evidence: ["x-flts=on: QEMU 10.0–10.2 accept no host device with first-stage translation"],
            remedy: Remedy(summary: "turn x-flts off, or use QEMU 11.0 or later, which accept host devices with it")),
          fix: dropFirstStage)
      ]
    }
    guard QEMURules.applies("intel.first-stage.backend", in: qemu) else { return [] }
    guard context.hiod != nil || context.qemuBackend == .legacy else { return [] }
    // QEMU stops at the backend check with the legacy backend; the rest still runs on what
    // is known (sysfs), marked as not reached, so every reason is reported.
    var outcomes = [backend(context)]
    outcomes.append(hardwareType(context))
    if let fs1gp = fs1gp(context) { outcomes.append(fs1gp) }
    if let pasid = pasidBits(context) { outcomes.append(pasid) }
    outcomes.append(bridge(context))
    return outcomes
  }

  private static func span(_ rule: String, _ context: DeviceContext) -> String {
    QEMURules.releases(rule, in: context.qemu)
  }

  /// "Need IOMMUFD backend when fsts=on": the legacy backend cannot nest.
  static func backend(_ context: DeviceContext) -> Outcome {
    let remedy = Remedy(
      summary: "give the device the iommufd backend (or turn \(firstStageName(context.configuration)) off)",
      qemu: iommufdBackendOption(for: context.address),
      host: "the host needs /dev/iommu (CONFIG_IOMMUFD) and VFIO cdevs (/dev/vfio/devices/, Linux ≥ 6.6)")
    let message = QEMURules.text("intel.first-stage.backend", in: context.qemu) ?? ""
    switch context.qemuBackend {
    case .legacy?:
      return Outcome(
        Finding(
          check: "intel.x-flts.backend", status: .fail, message: context.setIOMMUDeviceError(message),
          qemuVersions: span("intel.first-stage.backend", context), evidence: [context.backendEvidence],
          remedy: remedy))
    case .iommufd?, .sysfs?, nil:
      return Outcome(
        Finding(
          check: "intel.x-flts.backend", status: .pass,
          message: "the device uses the iommufd backend first-stage translation needs", wording: .hiodctl,
          qemuVersions: span("intel.first-stage.backend", context), evidence: [context.backendEvidence]))
    }
  }

  /// "Incompatible host platform IOMMU type %d": nesting onto a VT-d needs a VT-d.
  static func hardwareType(_ context: DeviceContext) -> Outcome {
    guard let type = context.hardwareType else {
      return Outcome(
        Finding(
          check: "intel.x-flts.type", status: .undetermined,
          message: "the host IOMMU type is unknown: the legacy backend cannot report it and sysfs does not say",
          wording: .hiodctl, qemuVersions: span("intel.first-stage.backend", context),
          evidence: [context.backendEvidence]))
    }
    let predicted = type.provenance.isPrediction
    let evidence = [
      "host IOMMU type \(type.value) (\(DeviceContext.source(type.provenance)))"
    ]
    let caveat: String? = nil
    guard type.value == .intelVTd else {
      return Outcome(
        Finding(
          check: "intel.x-flts.type", status: .fail,
          message: context.setIOMMUDeviceError(
            QEMURules.text("intel.first-stage.type", in: context.qemu, [.uint(UInt64(type.value.rawValue))]) ?? ""),
          qemuVersions: span("intel.first-stage.type", context), evidence: evidence, predicted: predicted,
          remedy: Remedy(summary: "x-flts nests onto a host VT-d unit; this host IOMMU is not one: turn x-flts off"),
          caveat: caveat),
        fix: dropFirstStage)
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.type", status: .pass, message: "the host IOMMU is a VT-d unit (INTEL_VTD)",
        wording: .hiodctl,
        qemuVersions: span("intel.first-stage.type", context), evidence: evidence, predicted: predicted, caveat: caveat)
    )
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
          qemuVersions: span("intel.first-stage.backend", context), evidence: [setting]))
    }
    let capability = registers.value.capability
    let evidence = [
      setting,
      """
      host CAP \(capability.raw.hex64): FS1GP (bit 56) \(capability.firstStage1GiBPages ? "set" : "clear") \
      (\(DeviceContext.source(registers.provenance)))
      """,
    ]
    let predicted = registers.provenance.isPrediction
    guard capability.firstStage1GiBPages else {
      return Outcome(
        Finding(
          check: "intel.x-flts.fs1gp", status: .fail,
          message: context.setIOMMUDeviceError(QEMURules.text("intel.first-stage.fs1gp", in: context.qemu) ?? ""),
          qemuVersions: span("intel.first-stage.backend", context), evidence: evidence, predicted: predicted,
          remedy: Remedy(summary: "turn fs1gp off: the host IOMMU has no first-stage 1 GiB pages")),
        // Only while x-flts stays on: another finding's fix may already have dropped it.
        fix: { if $0.xFlts == true { $0.fs1gp = false } })
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.fs1gp", status: .pass, message: "the host IOMMU has first-stage 1 GiB pages (CAP.FS1GP)",
        wording: .hiodctl, qemuVersions: span("intel.first-stage.backend", context), evidence: evidence,
        predicted: predicted))
  }

  /// "Host device downstream to a PCI bridge is unsupported when x-flts=on": depends on the
  /// guest topology, which only the caller can know.
  static func bridge(_ context: DeviceContext) -> Outcome {
    let placement = context.placement
    let rule = "intel.first-stage.bridge"
    guard let alias = placement.alias else {
      return Outcome(
        Finding(
          check: "intel.x-flts.pci-bridge", status: .pass,
          message: "guest \(placement.address) is not behind a PCI bridge", wording: .hiodctl,
          qemuVersions: span(rule, context),
          caveat: context.origin == .flags
            ? """
            assumed: the device sits on a PCIe root port in the guest; \
            behind a PCIe-to-PCI or PCI bridge QEMU refuses it (\"\(QEMURules.text(rule, in: context.qemu) ?? "")\")
            """
            : nil))
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.pci-bridge", status: .fail,
        message: context.setIOMMUDeviceError(QEMURules.text(rule, in: context.qemu) ?? ""),
        qemuVersions: span(rule, context),
        evidence: ["guest \(placement.address) issues DMA as \(alias): it sits behind a bridge that aliases it"],
        remedy: Remedy(summary: "plug the device into a PCIe root port in the guest, not behind a PCI bridge")))
  }

  /// 11.1: the guest's PASID width (pasid-bits) must fit the host IOMMU's.
  static func pasidBits(_ context: DeviceContext) -> Outcome? {
    guard let pasid = context.configuration.pasidBits, pasid.value > 0,
      QEMURules.applies("intel.first-stage.pasid", in: context.qemu)
    else { return nil }
    guard let host = context.hiod?.caps.maxPASIDLog2 else {
      return Outcome(
        Finding(
          check: "intel.x-flts.pasid-bits", status: .undetermined,
          message: "the host IOMMU's PASID width is unknown (only IOMMU_GET_HW_INFO reports it)", wording: .hiodctl,
          qemuVersions: span("intel.first-stage.pasid", context), evidence: [context.backendEvidence]))
    }
    let evidence = [
      "pasid-bits=\(pasid.value)", "host max PASID width \(host.value) bits (\(DeviceContext.source(host.provenance)))",
    ]
    guard Int(host.value) >= pasid.value else {
      let hostBits = Int(host.value)
      return Outcome(
        Finding(
          check: "intel.x-flts.pasid-bits", status: .fail,
          message: context.setIOMMUDeviceError(
            QEMURules.text("intel.first-stage.pasid", in: context.qemu, [.of(pasid.value), .of(hostBits)]) ?? ""),
          qemuVersions: span("intel.first-stage.pasid", context), evidence: evidence,
          remedy: Remedy(summary: "lower pasid-bits to \(hostBits), the host IOMMU's PASID width")),
        fix: { $0.pasidBits = hostBits == 0 ? nil : hostBits })
    }
    return Outcome(
      Finding(
        check: "intel.x-flts.pasid-bits", status: .pass,
        message: "pasid-bits \(pasid.value) ≤ the host's \(host.value)", wording: .hiodctl,
        qemuVersions: span("intel.first-stage.pasid", context), evidence: evidence))
  }

  /// The nesting-parent HWPT check when vfio allocates one: first-stage translation over
  /// the iommufd backend, in the releases that do; nil otherwise.
  static func nestingParentAtAttach(_ context: DeviceContext) -> Outcome? {
    guard firstStage(context.configuration), QEMURules.applies("intel.first-stage.backend", in: context.qemu),
      context.qemuBackend == .iommufd, context.hiod != nil
    else { return nil }
    return nestingParent(context)
  }

  /// The nesting-parent HWPT vfio allocates for x-flts=on (11.0): the kernel's refusal
  /// fails vfio-pci realize before intel-iommu sees the device.
  static func nestingParent(_ context: DeviceContext) -> Outcome {
    let span = span("intel.first-stage.backend", context)
    let registers = context.intelRegisters
    var evidence = [context.backendEvidence]
    if let registers {
      let ecap = registers.value.extendedCapability
      evidence.append(
        """
        host ECAP \(ecap.raw.hex64): NEST (bit 26) \(ecap.nestedTranslation ? "set" : "clear"), \
        SMTS (bit 43) \(ecap.scalableMode ? "set" : "clear") (\(DeviceContext.source(registers.provenance)))
        """
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
        """
        IOMMU_HWPT_ALLOC(NEST_PARENT) \
        \(probe.allowed ? "allowed" : "refused with \(probe.refusal?.symbol ?? "an error")") \
        (\(DeviceContext.source(probe.provenance)))
        """
      )
      if probe.allowed {
        return Outcome(
          Finding(
            check: "intel.x-flts.nesting-parent", status: .pass,
            message: "the kernel allocates the nesting-parent HWPT x-flts=on needs", wording: .hiodctl,
            qemuVersions: span, evidence: evidence, predicted: probe.provenance.isPrediction))
      }
      let errno = probe.refusal ?? .notSupported
      return Outcome(
        Finding(
          check: "intel.x-flts.nesting-parent", status: .fail,
          message: context.vfio(
            QEMURules.text("iommufd.hwpt-alloc", in: context.qemu, [.string(errno.description)]) ?? ""),
          qemuVersions: span, evidence: evidence, predicted: probe.provenance.isPrediction,
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
        message: context.vfio(
          QEMURules.text("iommufd.hwpt-alloc", in: context.qemu, [.string(Errno.notSupported.description)]) ?? ""),
        qemuVersions: span, evidence: evidence, predicted: registers.provenance.isPrediction,
        remedy: refusedRemedy,
        caveat:
          """
          inferred from the registers (the kernel refuses NEST_PARENT without ECAP.NEST and ECAP.SMTS: EOPNOTSUPP, \
          as the VM rig's VT-d showed)
          """
      ),
      fix: dropFirstStage)
  }
}

/// intel-iommu, in the registry.
struct IntelIOMMUModel: VIOMMUModelDefinition {
  var qemuDevice: String { "intel-iommu" }
  var libvirtModel: String { "intel" }
  var machines: VIOMMUMachines { .q35 }

  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType> { q35ByDefault() }

  func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    IntelIOMMUChecks.configurationOutcomes(configuration)
  }

  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] {
    IntelIOMMUChecks.deviceOutcomes(context, registered: &state.intelRegistered)
  }

  /// Attaching allocates the domain: a nesting parent for the first stage.
  func attachRefusal(_ context: DeviceContext) -> Outcome? { IntelIOMMUChecks.nestingParentAtAttach(context) }

  func assumptions(_ options: inout VIOMMUOptions) -> [String] {
    guard options.cachingMode == nil else { return [] }
    // intel-iommu refuses every assigned device without caching-mode=on, so "will this
    // device work" presumes it; QEMU's own default (off) is checked with --caching-mode off.
    options.cachingMode = true
    return [
      "caching-mode=on assumed: intel-iommu refuses every assigned device without it "
        + "(QEMU's default is off; --caching-mode off checks that)"
    ]
  }

  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    VIOMMUSuggester.intel(base, devices: devices, host: host)
  }

  /// x-flts, then aw-bits.
  func strength(_ configuration: VIOMMUConfiguration) -> [Int] {
    [configuration.xFlts?.value == true ? 1 : 0, configuration.awBits?.value ?? 0]
  }

  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String? {
    var attributes: [String] = []
    let options = configuration.options
    if let cachingMode = options.cachingMode { attributes.append("caching_mode='\(cachingMode ? "on" : "off")'") }
    if let awBits = options.awBits { attributes.append("aw_bits='\(awBits)'") }
    return VIOMMUConfiguration.iommuElement(model: libvirtModel, driverAttributes: attributes)
  }

  var libvirtCarriedProperties: Set<String> { ["caching-mode", "aw-bits"] }

  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  {
    var properties: [(String, String)] = [("driver", "\"intel-iommu\""), ("id", "\"iommu0\"")]
    let attributes: [(String, String, Bool)] = [
      ("intremap", "intremap", false), ("caching_mode", "caching-mode", true), ("eim", "eim", false),
      ("iotlb", "device-iotlb", true), ("aw_bits", "aw-bits", false), ("dma_translation", "dma-translation", true),
    ]
    for (attribute, property, boolean) in attributes {
      guard let value = driver?.attribute(attribute) else { continue }
      if attribute == "aw_bits" {
        guard UInt8(value) != nil else {
          throw CommandLineError("\(source):\(iommu.line): <driver aw_bits='\(value)'>: not a number of bits")
        }
        properties.append((property, value))
      } else {
        properties.append((property, boolean ? (value == "on" ? "true" : "false") : "\"\(value)\""))
      }
    }
    return .device(properties)
  }

  func libvirtNotes(_ configuration: VIOMMUConfiguration) -> [String] {
    var notes: [String] = []
    if configuration.options.awBits != nil {
      notes.append("libvirt accepts aw_bits from 6.5.0 on")
    }
    if configuration.options.xFlts == true {
      notes.append(
        """
        libvirt has no x-flts attribute in the releases hiodctl knows (a newer one may call it fsts); \
        the vfio-pci devices must also use iommufd
        """
      )
    }
    return notes
  }

  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)] {
    var labels = [("viommu.intel", String(compatible))]
    if compatible, let bits = verdict.configuration?.awBits?.value {
      labels.append(("viommu.intel.aw-bits", String(bits)))
    }
    if let xFlts = verdict.xFlts { labels.append(("viommu.intel.x-flts", String(xFlts))) }
    return labels
  }
}
