// hiodctl — the vIOMMU compatibility check: run QEMU's checks for a configuration over the
// realized devices, in QEMU's order, and report every reason with its fix.
// SPDX-License-Identifier: GPL-2.0-or-later

/// Predicts whether QEMU accepts each device behind a vIOMMU configuration.
///
/// Pure: everything it reads was gathered before (realizations, host facts). QEMU stops
/// at the first error; this reports every one, marking those QEMU would not reach
/// (`Finding.qemuStopsEarlierAt`), and names the one QEMU prints (`CheckReport.qemuError`).
package enum VIOMMUChecker {
  /// Checks `devices` behind `configuration`, as the VM `invocation` assigns them (the
  /// devices in `invocation.devices` order; nil: the canonical command line of the flags).
  ///
  /// Devices are evaluated in QEMU's plug order — cold-plugged ones in the order given,
  /// then hot-plugged ones — because state carries from one device to the next (a group's
  /// address space, virtio-iommu's page-size mask). The report lists them in input order.
  package static func check(
    _ configuration: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts,
    invocation: VMInvocation? = nil, vmPerDevice: Bool = false
  ) -> CheckReport {
    if vmPerDevice {
      // A survey of the host (check --all): every device in a VM of its own, so one
      // device's group or slot does not decide another's verdict.
      // The VMs are independent and the check is pure: they run on several threads
      // (Support/Parallel.swift), reports in input order.
      // Each VM assigns the first of the invocation's devices on the device's address,
      // found in a table built once (a scan of the invocation per device was quadratic).
      let firstAssigned = Dictionary(
        (invocation?.devices ?? []).map { ($0.host, $0) }, uniquingKeysWith: { first, _ in first })
      let reports = Parallel.map(devices, minimumChunk: 16) { chunk in
        chunk.map { device in
          check(
            configuration, devices: [device], host: host,
            invocation: invocation.map { vm in
              var one = vm
              one.devices = firstAssigned[device.device.address].map { [$0] } ?? []
              return one
            })
        }
      }
      guard let first = reports.first else {
        return check(configuration, devices: [], host: host, invocation: invocation)
      }
      var report = first
      report.devices = reports.flatMap { $0.devices }
      report.invocation = first.invocation.map { vm in
        var shown = vm
        shown.perDevice = true
        return shown
      }
      // The configuration's own error is every VM's; a device's is its own VM's.
      report.qemuError = first.configurationFindings.contains { $0.status == .fail } ? first.qemuError : nil
      return report
    }
    let configuration = settlingArchitecture(configuration, host: host)
    let invocation =
      invocation
      ?? VMInvocation.canonical(
        configuration: configuration, devices: devices.map(\.device.address),
        backend: devices.contains { $0.realization.requested == .iommufd } ? .iommufd : .legacy)
    let placements = invocation.placements(model: configuration.model)
    let commandLine = commandLineOutcomes(configuration, invocation: invocation, host: host)
    let realize = configurationOutcomes(configuration).map { outcome -> Outcome in
      var located = outcome
      located.finding.location = located.finding.location ?? invocation.viommuOptionText
      located.phase = located.phase ?? .viommuRealize
      return located
    }
    // Parsing first; what QEMU finds at later -device options after the vIOMMU's realize.
    let configurationOutcomes =
      commandLine.filter { $0.phase == .commandLine } + realize + commandLine.filter { $0.phase == .viommuRealize }
    var state = RealizeState(configuration)
    var outcomesByIndex: [Int: [Outcome]] = [:]
    let order = devices.indices.filter { !devices[$0].hotplug } + devices.indices.filter { devices[$0].hotplug }
    for index in order {
      let assigned =
        index < invocation.devices.count
        ? invocation.devices[index] : AssignedDevice(host: devices[index].device.address)
      let placement =
        devices[index].guestPlacement ?? placements[safe: index]
        ?? GuestPlacement(address: GuestPCIAddress(bus: 0, slot: UInt8(index + 1), function: 0))
      var input = devices[index]
      input.guestPlacement = placement
      let context = DeviceContext(
        input: input, configuration: configuration, host: host, assigned: assigned, placement: placement,
        origin: invocation.origin, assignedMemoryMiB: invocation.memoryMiB)
      var outcomes = VFIORealize.outcomes(context, state: &state)
      // QEMU stops at the first failure; the vIOMMU's checks still run on what is known
      // (a prediction), so every reason is reported, marked as not reached.
      if context.hiod != nil {
        outcomes += configuration.model.definition.deviceOutcomes(context, state: &state)
      }
      outcomesByIndex[index] = outcomes.map { outcome in
        var located = outcome
        let phase = located.phase ?? .deviceRealize
        located.phase = phase
        if located.finding.location == nil, phase == .deviceRealize {
          located.finding.location = assigned.optionText
        }
        return located
      }
    }

    // QEMU's order over the whole VM: the command line and the vIOMMU, each device's
    // realize in plug order, then what QEMU checks once the machine is done.
    var sequence: [(index: Int?, position: Int)] = configurationOutcomes.indices.map { (nil, $0) }
    for phase in [CheckPhase.deviceRealize, .machineDone, .runtime] {
      for index in order {
        for (position, outcome) in (outcomesByIndex[index] ?? []).enumerated() where outcome.phase == phase {
          sequence.append((index, position))
        }
      }
    }
    var stop: String?
    var qemuError: QEMUError?
    var stopsAt: [Int?: [Int: String]] = [:]
    for (index, position) in sequence {
      let finding = index.map { outcomesByIndex[$0]![position].finding } ?? configurationOutcomes[position].finding
      if let stop {
        stopsAt[index, default: [:]][position] = stop
        continue
      }
      if finding.status == .fail, finding.effect == .refusesToStart {
        stop = finding.check
        qemuError = QEMUError(
          check: finding.check, device: index.map { devices[$0].device.address }, message: finding.message,
          location: finding.location, hint: finding.qemuHint, line: finding.qemuLine, wording: finding.wording)
      }
    }

    // Every VF of an SR-IOV host fails the same way and gets the same repaired
    // configuration: its option string and XML are written once.
    var repairedText = RepairedText()
    let configurationFindings = settle(
      configurationOutcomes, stops: stopsAt[nil] ?? [:], configuration: configuration, text: &repairedText)
    let configurationFailures = configurationOutcomes.filter { $0.finding.status == .fail }
    let verdicts = devices.indices.map { index -> DeviceVerdict in
      let input = devices[index]
      // Device remedies start from the configuration with its own fixes applied, so the
      // option string they print passes the configuration checks too.
      let own = outcomesByIndex[index] ?? []
      let findings = settle(
        configurationFailures + own, stops: shifted(stopsAt[index] ?? [:], by: configurationFailures.count),
        configuration: configuration, text: &repairedText
      ).dropFirst(configurationFailures.count)
      var verdict = DeviceVerdict(
        device: input.device,
        status: status(Array(findings), configuration: configurationFindings, realization: input.realization),
        findings: Array(findings))
      verdict.qemuError = qemuError.flatMap { $0.device == input.device.address || $0.device == nil ? $0 : nil }
      return verdict
    }
    return CheckReport(
      configuration: configuration, configurationFindings: configurationFindings, devices: verdicts,
      invocation: invocation, qemuError: qemuError)
  }

  private static func shifted(_ stops: [Int: String], by offset: Int) -> [Int: String] {
    Dictionary(uniqueKeysWithValues: stops.map { ($0.key + offset, $0.value) })
  }

  /// fail if anything fails; undetermined if anything is undetermined or the answer rests
  /// on a prediction where the kernel was wanted; else pass.
  static func status(_ findings: [Finding], configuration: [Finding], realization: DeviceRealization)
    -> FindingStatus
  {
    let statuses = configuration.map(\.status) + findings.map(\.status)
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) || !realization.isDetermined { return .undetermined }
    return .pass
  }

  /// QEMU's answer from a device's findings and status.
  static func verdict(of findings: [Finding], status: FindingStatus) -> QEMUVerdict {
    if findings.contains(where: { $0.status == .fail && $0.effect == .refusesToStart }) { return .refuses }
    if status == .fail && !findings.contains(where: { $0.status == .fail }) { return .refuses }
    if findings.contains(where: { $0.status == .fail && $0.effect == .dmaFails }) { return .dmaFails }
    if status == .undetermined { return .undetermined }
    return .works
  }

  /// virtio-iommu's default machine depends on the guest architecture; when the user
  /// named no machine, the host's IOMMU units tell which one the VM will be.
  static func settlingArchitecture(_ configuration: VIOMMUConfiguration, host: HostFacts) -> VIOMMUConfiguration {
    guard configuration.machine == nil else { return configuration }
    var settled = configuration
    if host.iommuUnits.contains(where: { $0.vendor == .arm }) {
      settled.architecture = .arm
    } else if host.iommuUnits.contains(where: { $0.vendor == .intel || $0.vendor == .amd })
      || host.cpuVendor == .intel || host.cpuVendor == .amd
    {
      settled.architecture = .x86
    }
    return settled
  }

  /// Settles a list of outcomes: marks what QEMU would not reach (`stops`, by position),
  /// and fills each fixable failure's remedy with the configuration that has every fix of
  /// the list applied.
  static func settle(
    _ outcomes: [Outcome], stops: [Int: String], configuration: VIOMMUConfiguration, text: inout RepairedText
  ) -> [Finding] {
    var repaired = configuration
    for outcome in outcomes where outcome.finding.status != .pass {
      outcome.fix?(&repaired.options)
    }
    return outcomes.enumerated().map { position, outcome in
      var finding = outcome.finding
      finding.qemuStopsEarlierAt = stops[position]
      if outcome.fix != nil, finding.status != .pass, var remedy = finding.remedy {
        if remedy.qemu == nil || remedy.libvirt == nil {
          let written = text.of(repaired)
          remedy.qemu = remedy.qemu ?? written.qemu
          remedy.libvirt = remedy.libvirt ?? written.libvirt
        }
        finding.remedy = remedy
      }
      return finding
    }
  }

  /// The `-device` option and libvirt XML of each repaired configuration one check has
  /// needed, written once each.
  struct RepairedText {
    private var written: [VIOMMUConfiguration: (qemu: String, libvirt: String?)] = [:]

    mutating func of(_ configuration: VIOMMUConfiguration) -> (qemu: String, libvirt: String?) {
      if let known = written[configuration] { return known }
      let text = (qemu: configuration.qemuDeviceOption, libvirt: configuration.libvirtXML)
      written[configuration] = text
      return text
    }
  }

  // MARK: Configuration checks

  /// The vIOMMU's own realize checks.
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    configuration.model.definition.configurationOutcomes(configuration)
  }

  /// Parsing the command line, in QEMU's order: the release, the machine type, the
  /// iommufd objects, then the vIOMMU's `-device` and its properties.
  static func commandLineOutcomes(_ configuration: VIOMMUConfiguration, invocation: VMInvocation, host: HostFacts)
    -> [Outcome]
  {
    var outcomes: [Outcome] = []
    let qemu = configuration.qemu
    if !qemu.isKnown {
      let note: String
      let status: FindingStatus
      if let rules = qemu.rulesRelease {
        note =
          """
          hiodctl knows the rules of QEMU \(QEMUVersion.oldest)–\(QEMUVersion.newest); \
          \(qemu) is checked with those of \(rules), the newest
          """
        status = .pass
      } else {
        note =
          """
          hiodctl knows the rules of QEMU \(QEMUVersion.oldest)–\(QEMUVersion.newest); \
          \(qemu) is older than any of them
          """
        status = .undetermined
      }
      outcomes.append(
        Outcome(
          Finding(check: "qemu.version", status: status, message: note, wording: .hiodctl, qemuVersions: "\(qemu)"),
          phase: .commandLine))
    }
    if !invocation.iommufdObjects.isEmpty {
      if let message = QEMURules.text("qemu.object.iommufd.unknown", in: qemu) {
        let object = invocation.iommufdObjects[0]
        outcomes.append(
          Outcome(
            Finding(
              check: "qemu.iommufd-object", status: .fail, message: message,
              qemuVersions: QEMURules.releases("qemu.object.iommufd.unknown", in: qemu),
              evidence: ["\(object.optionText): QEMU \(qemu) has no iommufd object (it arrived in 9.0)"],
              remedy: Remedy(
                summary: "QEMU \(qemu) has only the legacy VFIO backend: drop iommufd (or use QEMU 9.0 or later)"),
              location: object.optionText),
            phase: .commandLine))
      }
    }
    // -object is parsed with the command line; the machine type is chosen after it.
    outcomes += machineOutcomes(configuration).map { Outcome($0.finding, fix: $0.fix, phase: .commandLine) }
    if !invocation.iommufdObjects.isEmpty, QEMURules.text("qemu.object.iommufd.unknown", in: qemu) == nil {
      if !host.iommufd.present, let message = QEMURules.text("qemu.object.iommufd.no-dev-iommu", in: qemu) {
        outcomes.append(
          Outcome(
            Finding(
              check: "qemu.iommufd-object", status: .fail, message: message,
              qemuVersions: QEMURules.releases("qemu.object.iommufd.no-dev-iommu", in: qemu),
              evidence: ["\(host.iommufd.path) does not exist"],
              remedy: Remedy(
                summary: "the host kernel has no iommufd: use the legacy backend",
                host: "a kernel with CONFIG_IOMMUFD (Linux 6.6 or later for VFIO cdevs)")),
            phase: .commandLine))
      }
    }
    if let extra = invocation.extraVIOMMU {
      outcomes.append(
        Outcome(
          Finding(
            check: "qemu.multiple-viommu", status: .fail,
            message: QEMURules.text("qemu.device.multiple-viommu", in: qemu) ?? "",
            qemuVersions: ReleaseSpan.all.description, evidence: ["\(invocation.viommuOptionText ?? "") and \(extra)"],
            remedy: Remedy(summary: "give the VM one vIOMMU"), location: extra),
          // The second vIOMMU's -device comes after the first one's realize.
          phase: .viommuRealize))
    }
    for device in invocation.devices {
      guard let object = device.iommufd, !invocation.iommufdObjects.contains(where: { $0.id == object }) else {
        continue
      }
      let message =
        QEMURules.text("qemu.object.iommufd.unknown", in: qemu) != nil
        ? QEMURules.text("qemu.property.not-found", in: qemu, ["vfio-pci", "iommufd"]) ?? ""
        : "Device '\(object)' not found"
      outcomes.append(
        Outcome(
          Finding(
            check: "qemu.iommufd-object.missing", status: .fail, message: message,
            qemuVersions: ReleaseSpan.all.description, evidence: ["iommufd=\(object) names no -object iommufd"],
            remedy: Remedy(summary: "add -object iommufd,id=\(object) before the device"), location: device.optionText),
          phase: .viommuRealize))
      break
    }
    outcomes += propertyOutcomes(configuration).map { outcome in
      var located = outcome
      located.finding.location = invocation.viommuOptionText
      located.phase = .commandLine
      return located
    }
    return outcomes
  }

  /// The machine must be one the model exists on, and one this QEMU has.
  static func machineOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard let machine = configuration.machine else { return [] }
    var outcomes: [Outcome] = []
    let qemu = configuration.qemu
    if let version = machine.version,
      version > qemu || version < QEMUReleaseFacts.oldestMachine(family: machine.family, in: qemu)
    {
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.version", status: .fail,
            message: QEMURules.text("qemu.machine.unsupported", in: qemu) ?? "unsupported machine type",
            qemuHint: QEMURules.text("qemu.machine.unsupported.hint", in: qemu),
            qemuVersions: "\(qemu)",
            evidence: [
              """
              --machine \(machine): QEMU \(qemu) has \
              \(QEMUReleaseFacts.machineRange(family: machine.family, in: qemu))
              """
            ],
            remedy: Remedy(
              summary:
                """
                use a machine type QEMU \(qemu) has \
                (\(QEMUReleaseFacts.machineRange(family: machine.family, in: qemu)))
                """
            ))))
      return outcomes
    }
    let device = configuration.model.qemuDevice
    switch configuration.model.definition.machines {
    case .q35 where machine.family == MachineType.virt:
      // qemu-system-aarch64 has no x86 vIOMMU.
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.family", status: .fail, message: "'\(device)' is not a valid device model name",
            qemuVersions: ReleaseSpan.all.description,
            evidence: ["--machine \(machine): an Arm machine; \(device) exists on q35 only"],
            remedy: Remedy(summary: "use a q35 machine"))))
    case .q35 where machine.family != MachineType.q35:
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.family", status: .fail,
            message: QEMURules.text("qemu.device.sysbus-machine", in: qemu) ?? "",
            qemuVersions: ReleaseSpan.all.description,
            evidence: ["--machine \(machine): \(device) exists on q35 only"],
            remedy: Remedy(summary: "use a q35 machine"))))
    case .armVirt where machine.family != MachineType.virt:
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.family", status: .fail,
            message: "\(device) needs the Arm virt machine; \(machine) is not one",
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: ["--machine \(machine)"],
            remedy: Remedy(summary: "use the Arm virt machine"))))
    default: break
    }
    return outcomes
  }

  /// Every explicit option must be a property of the model's device in this release,
  /// under the name it is written with: QEMU refuses unknown properties while parsing
  /// `-device` ("Property 'intel-iommu.x-flts' not found").
  static func propertyOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    let device = configuration.model.qemuDevice
    let qemu = configuration.qemu
    let others = configuration.otherProperties.compactMap { property -> Outcome? in
      guard
        let known = VIOMMUProperties.others.first(where: { $0.model == configuration.model && $0.name == property.name }
        ),
        !known.span.contains(qemu.rulesRelease ?? qemu)
      else { return nil }
      return Outcome(
        Finding(
          check: "\(configuration.model.rawValue).property.\(property.name)", status: .fail,
          message: QEMURules.text("qemu.property.not-found", in: qemu, [.string(device), .string(property.name)]) ?? "",
          qemuVersions: "all but \(known.span)", evidence: ["\(property) set explicitly"],
          remedy: Remedy(summary: "\(device) of QEMU \(qemu) has no \(property.name) property: drop it")))
    }
    return others
      + configuration.explicitProperties.compactMap { property -> Outcome? in
        guard
          let row = VIOMMUProperties.row(named: property.name, model: configuration.model)
            ?? VIOMMUProperties.row(named: property.name)
        else { return nil }
        guard row.model == configuration.model else {
          // Another model's property (virtio's granule on intel-iommu).
          return Outcome(
            Finding(
              check: "\(configuration.model.rawValue).property.\(property.name)", status: .fail,
              message: QEMURules.text("qemu.property.not-found", in: qemu, [.string(device), .string(property.name)])
                ?? "",
              qemuVersions: ReleaseSpan.all.description, evidence: ["\(property) set explicitly"],
              remedy: Remedy(summary: "\(device) has no \(property.name) property: drop it")),
            fix: { options in options.clear(row.property) })
        }
        if row.has(property.name, in: qemu) { return nil }
        let summary: String
        let fix: OptionsFix
        if let current = row.name(in: qemu) {
          summary = "QEMU \(qemu) calls it \(current): write \(current)=\(property.value)"
          fix = { options in options.forgetSpelling(row.property) }
        } else if let introduced = row.introduced, qemu < introduced {
          summary = "\(device) has \(property.name) from QEMU \(introduced) on: drop it or use a newer QEMU"
          fix = { options in options.clear(row.property) }
        } else {
          summary = "\(device) of QEMU \(qemu) has no \(property.name) property: drop it"
          fix = { options in options.clear(row.property) }
        }
        return Outcome(
          Finding(
            check: "\(configuration.model.rawValue).property.\(property.name)", status: .fail,
            message: QEMURules.text("qemu.property.not-found", in: qemu, [.string(device), .string(property.name)])
              ?? "",
            qemuVersions: row.spellings.first { $0.name == property.name }.map { "all but \($0.span)" }
              ?? ReleaseSpan.all.description,
            evidence: ["\(property) set explicitly"], remedy: Remedy(summary: summary)),
          fix: fix)
      }
  }
}

// Clearing an option by its QEMU name, for the unknown-property fix.
extension VIOMMUOptions {
  /// Unsets the option QEMU calls `property` (on any model, in any release).
  mutating func clear(property: String) {
    for row in VIOMMUProperties.rows where row.spellings.contains(where: { $0.name == property }) {
      clear(row.property)
    }
  }
}

extension Array {
  subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
