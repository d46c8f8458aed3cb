// hiodctl — suggesting a vIOMMU configuration every given device accepts: the options
// chosen from the host facts, then confirmed by running the checks on them.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A configuration that works for the given devices (if one exists), and why.
package struct Suggestion: Hashable, Sendable {
  /// The suggested configuration; nil when no configuration of the model works.
  package var configuration: VIOMMUConfiguration?
  /// Sentences explaining the choice, what blocks the alternatives, and what remains to
  /// fix on the host.
  package var explanation: [String]
  /// Other working configurations worth knowing (intel x-flts=on, smmuv3 with ATS…).
  package var alternatives: [VIOMMUConfiguration]
  /// The check of `configuration` over the devices: host-side problems it cannot fix show
  /// up here.
  package var report: CheckReport?

  /// A suggestion.
  package init(
    configuration: VIOMMUConfiguration?, explanation: [String], alternatives: [VIOMMUConfiguration] = [],
    report: CheckReport? = nil
  ) {
    self.configuration = configuration
    self.explanation = explanation
    self.alternatives = alternatives
    self.report = report
  }
}

/// Chooses vIOMMU options from what the devices' host IOMMUs allow.
package enum VIOMMUSuggester {
  /// The configuration of `model` every device in `devices` accepts on `qemu` (and
  /// `machine`), checked with `VIOMMUChecker`; nil configuration with the reasons when
  /// none exists.
  package static func suggest(
    model: VIOMMUModel, qemu: QEMUVersion, machine: MachineType?, devices: [DeviceCheckInput], host: HostFacts
  ) -> Suggestion {
    let base = VIOMMUChecker.settlingArchitecture(
      VIOMMUConfiguration(model: model, qemu: qemu, machine: machine), host: host)
    var suggestion = model.definition.suggest(base, devices: devices, host: host)
    if let configuration = suggestion.configuration {
      // A model's suggester that has already checked its choice hands the report over:
      // the checks are pure, so checking again would give the same report.
      let report = suggestion.report ?? check(configuration, devices: devices, host: host)
      suggestion.report = report
      suggestion.explanation += remainingProblems(report)
    }
    return suggestion
  }

  /// A candidate checked as the VM would run it: with the iommufd backend when the
  /// configuration needs it (first-stage translation, accel), else the legacy one.
  static func check(_ configuration: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> CheckReport {
    let nests = configuration.xFlts?.value == true || configuration.accel?.value == true
    let invocation = VMInvocation.canonical(
      configuration: configuration, devices: devices.map(\.device.address), backend: nests ? .iommufd : .legacy)
    return VIOMMUChecker.check(configuration, devices: devices, host: host, invocation: invocation)
  }

  /// What still fails or is undetermined with the suggested configuration: host-side
  /// problems (binding, interrupt remapping) no vIOMMU option fixes.
  static func remainingProblems(_ report: CheckReport) -> [String] {
    var lines: [String] = []
    for finding in report.configurationFindings where finding.status != .pass {
      lines.append("configuration: \(finding.message)")
    }
    for verdict in report.devices where verdict.status != .pass {
      let first = verdict.findings.first { $0.status == verdict.status } ?? verdict.findings.first
      let reason = first.map { finding in
        finding.remedy?.host.map { "\(finding.message) — \($0)" } ?? finding.message
      }
      lines.append(
        "\(verdict.device.address) remains \(verdict.status.rawValue)" + (reason.map { ": \($0)" } ?? ""))
    }
    return lines
  }

  /// The host aw_bits of every device that has one, with the devices that lack it.
  static func hostAddressWidths(_ devices: [DeviceCheckInput]) -> (widths: [(PCIAddress, Int)], unknown: [PCIAddress]) {
    var widths: [(PCIAddress, Int)] = []
    var unknown: [PCIAddress] = []
    for input in devices {
      if case .value(let value, _)? = input.realization.hostIOMMUDevice?.getCap(.awBits) {
        widths.append((input.device.address, Int(value)))
      } else {
        unknown.append(input.device.address)
      }
    }
    return (widths, unknown)
  }

  /// The failing findings of a candidate configuration that the base configuration does
  /// not share: what the candidate's extra options break.
  static func blockers(
    of candidate: VIOMMUConfiguration, beyond base: CheckReport, devices: [DeviceCheckInput], host: HostFacts
  )
    -> [String]
  {
    let report = check(candidate, devices: devices, host: host)
    var lines = report.configurationFindings.filter { $0.status != .pass }.map(\.message)
    // One line per distinct reason, naming the devices it applies to: the same refusal
    // for a hundred VFs is one reason, not a hundred.
    var order: [String] = []
    var byReason: [String: [String]] = [:]
    for (verdict, baseVerdict) in zip(report.devices, base.devices) {
      let known = Set(baseVerdict.findings.filter { $0.status != .pass }.map(\.check))
      let address = verdict.device.address.description
      for finding in verdict.findings where finding.status != .pass && !known.contains(finding.check) {
        // Drop QEMU's "vfio <BDF>: " so the reason reads the same for every device.
        let reason = finding.message.replacingEvery("vfio \(address): ", with: "")
          .replacingEvery(address, with: "the device")
        if byReason[reason] == nil { order.append(reason) }
        byReason[reason, default: []].append(address)
      }
    }
    for reason in order {
      let addresses = byReason[reason] ?? []
      let shown =
        addresses.count > 4
        ? "\(addresses.prefix(3).joined(separator: ", ")) and \(addresses.count - 3) more"
        : addresses.joined(separator: ", ")
      lines.append("\(reason) (\(shown))")
    }
    return lines
  }

  // MARK: intel-iommu

  /// caching-mode=on, the largest allowed aw-bits within the narrowest host, and whether
  /// x-flts would work.
  static func intel(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    var explanation = ["caching-mode=on: intel-iommu needs it for any assigned device"]
    var configuration = base.with { $0.cachingMode = true }
    let (widths, unknown) = hostAddressWidths(devices)
    if let narrowest = widths.min(by: { $0.1 < $1.1 }) {
      guard let aw = IntelIOMMUChecks.largestAllowedAWBits(notAbove: narrowest.1) else {
        return Suggestion(
          configuration: nil,
          explanation: explanation + [
            """
            \(narrowest.0) has host aw_bits \(narrowest.1), below 39, the smallest aw-bits intel-iommu allows: \
            no intel-iommu configuration accepts it; virtio-iommu does not compare aw-bits with the host
            """
          ])
      }
      configuration.options.awBits = aw
      explanation.append(
        """
        aw-bits=\(aw): the largest value intel-iommu allows (39, 48) \
        within the narrowest host aw_bits (\(narrowest.1), \(narrowest.0))
        """
      )
    } else if let awBits = configuration.awBits {
      explanation.append(
        "aw-bits left at QEMU's default \(awBits.value) (\(awBits.reason)): no device's host aw_bits is known")
    }
    if !unknown.isEmpty, !widths.isEmpty {
      explanation.append(
        """
        host aw_bits unknown for \(unknown.map(\.description).joined(separator: ", ")): \
        aw-bits may still be too large for them
        """
      )
    }

    // x-flts: try it, keep it as an alternative when nothing new fails.
    var alternatives: [VIOMMUConfiguration] = []
    var report: CheckReport?
    let fltsName = VIOMMUProperties.row(.firstStage, model: .intel)?.name(in: base.qemu) ?? "x-flts"
    if base.qemu < .v10_0 {
      explanation.append("first-stage translation is not possible: QEMU \(base.qemu) has no x-flts (added in 10.0)")
    } else if base.qemu < .v11_0 {
      explanation.append(
        "x-flts is not possible: QEMU 10.0–10.2 refuse every host device with x-flts=on (11.0 accepts them)")
    } else {
      let baseReport = check(configuration, devices: devices, host: host)
      report = baseReport
      let allFS1GP = devices.allSatisfy { input in
        DeviceContext(input: input, configuration: base, host: host).intelRegisters?.value.capability
          .firstStage1GiBPages
          == true
      }
      let candidate = configuration.with {
        $0.awBits = 48
        $0.scalableMode = true
        $0.xFlts = true
        $0.fs1gp = allFS1GP ? nil : false
      }
      let blockers = blockers(of: candidate, beyond: baseReport, devices: devices, host: host)
      if blockers.isEmpty {
        alternatives.append(candidate)
        explanation.append(
          "\(fltsName) is possible (\(candidate.qemuDeviceOption), with the devices on the iommufd backend)"
            + (allFS1GP ? "" : ", with fs1gp=off: not every host IOMMU has first-stage 1 GiB pages")
            + "; keep the devices on PCIe root ports in the guest")
      } else {
        explanation.append("\(fltsName) is not possible:")
        explanation += blockers.map { "  - \($0)" }
      }
    }
    return Suggestion(
      configuration: configuration, explanation: explanation, alternatives: alternatives, report: report)
  }

  // MARK: virtio-iommu

  /// The smallest common granule and the narrowest host width.
  static func virtio(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    var configuration = base
    var explanation: [String] = []
    let masks = devices.compactMap { $0.realization.hostIOMMUDevice?.pageSizeMask?.value }
    if !masks.isEmpty {
      let common = masks.reduce(UInt64.max, &)
      guard let granule = VirtioIOMMUChecks.suggestedGranule(for: common) else {
        return Suggestion(
          configuration: nil,
          explanation: [
            """
            the devices' host IOMMUs share no page size virtio-iommu offers (4k, 8k, 16k, 64k): \
            common mask \(common.qemuHex)
            """
          ])
      }
      configuration.options.granule = granule
      explanation.append(
        """
        granule=\(granule.rawValue): the smallest page size every host IOMMU supports \
        (common mask \(common.qemuHex)); explicit, so a device hot-plugged later meets the same frozen granule
        """
      )
    } else {
      explanation.append("granule left at QEMU's default (host): no device's page sizes are known")
    }
    let (widths, _) = hostAddressWidths(devices)
    if let narrowest = widths.min(by: { $0.1 < $1.1 }), (32...64).contains(narrowest.1) {
      configuration.options.awBits = narrowest.1
      explanation.append(
        """
        aw-bits=\(narrowest.1): the narrowest host aw_bits (\(narrowest.0)). \
        virtio-iommu does not require it — a narrower host only becomes a reserved range — \
        but the guest then never sees IOVAs the host cannot map
        """
      )
    }
    return Suggestion(configuration: configuration, explanation: explanation)
  }

  // MARK: arm-smmuv3

  /// accel=on with oas/ril chosen from the host registers, if every device allows it.
  static func smmuv3(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    guard base.qemu >= .v11_0 else {
      return Suggestion(
        configuration: nil,
        explanation: [
          "the emulated SMMUv3 refuses every assigned device and accel=on needs QEMU 11.0: use virtio-iommu"
        ])
    }
    var configuration = base.with { $0.accel = true }
    var explanation = ["accel=on: the emulated SMMUv3 (accel=off) refuses every assigned device"]
    let registers = devices.compactMap {
      DeviceContext(input: $0, configuration: base, host: host).smmuRegisters?.value
    }
    if registers.count < devices.count {
      explanation.append("some devices' host SMMUv3 registers are unknown (only the iommufd backend reads them)")
    }
    if !registers.isEmpty {
      let narrowestOAS = registers.map(\.outputAddressBits).min() ?? 44
      if narrowestOAS >= 48 {
        configuration.options.oas = 48
        explanation.append("oas=48: every host SMMUv3 outputs at least 48 bits")
      } else {
        explanation.append("oas left at 44: a host SMMUv3 outputs \(narrowestOAS) bits")
      }
      if registers.contains(where: { !$0.rangeInvalidation }) {
        configuration.options.ril = false
        explanation.append("ril=off: a host SMMUv3 has no range invalidation")
      }
      let ssid = registers.map(\.ssidSize).min() ?? 0
      explanation.append(
        ssid > 0
          ? "ssidsize up to \(ssid) works (PASID for the guest); left at 0"
          : "ssidsize stays 0: a host SMMUv3 has no SubstreamIDs")
      if registers.allSatisfy(\.ats) {
        explanation.append("ats=on works too: every host SMMUv3 has ATS")
      }
    }
    let report = check(configuration, devices: devices, host: host)
    let blocking = report.devices.flatMap { verdict in
      verdict.findings.filter { $0.status == .fail && $0.check.hasPrefix("smmuv3.") }.map { finding in
        let address = verdict.device.address.description
        return finding.message.contains(address) ? finding.message : "\(address): \(finding.message)"
      }
    }
    guard blocking.isEmpty else {
      return Suggestion(
        configuration: nil,
        explanation: explanation + [
          "accel=on does not work for every device: " + blocking.joined(separator: "; "), "use virtio-iommu",
        ])
    }
    var alternatives: [VIOMMUConfiguration] = []
    if !registers.isEmpty, registers.count == devices.count, registers.allSatisfy(\.ats) {
      alternatives.append(configuration.with { $0.ats = true })
    }
    return Suggestion(
      configuration: configuration, explanation: explanation, alternatives: alternatives, report: report)
  }

  // MARK: amd-iommu

  /// dma-remap=on from 10.2; nothing before.
  static func amd(_ base: VIOMMUConfiguration) -> Suggestion {
    guard base.qemu >= .v10_2 else {
      return Suggestion(
        configuration: nil,
        explanation: [
          """
          amd-iommu refuses every assigned device before QEMU 10.2 (no MAP notifiers): \
          use QEMU 10.2 or later with dma-remap=on, or intel-iommu / virtio-iommu
          """
        ])
    }
    return Suggestion(
      configuration: base.with { $0.dmaRemap = true },
      explanation: ["dma-remap=on: amd-iommu needs it for any assigned device; it checks nothing on the host"])
  }
}
