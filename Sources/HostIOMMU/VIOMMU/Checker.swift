// hiodctl — the vIOMMU compatibility check: run QEMU's checks for a configuration over the
// realized devices, in QEMU's order, and report every reason with its fix.
// SPDX-License-Identifier: GPL-2.0-or-later

/// Predicts whether QEMU accepts each device behind a vIOMMU configuration.
///
/// Pure: everything it reads was gathered before (realizations, host facts). QEMU stops
/// at the first error; this reports every one, marking those QEMU would not reach
/// (`Finding.qemuStopsEarlierAt`).
public enum VIOMMUChecker {
  /// Checks `devices` behind `configuration`.
  ///
  /// Devices are evaluated in QEMU's plug order — cold-plugged ones in the order given,
  /// then hot-plugged ones — because virtio-iommu's state (page-size mask, reserved
  /// ranges) carries from one device to the next. The report lists them in input order.
  public static func check(_ configuration: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts)
    -> CheckReport
  {
    let configuration = settlingArchitecture(configuration, host: host)
    let configurationOutcomes = configurationOutcomes(configuration)
    let configurationFindings = settle(configurationOutcomes, stoppedAt: nil, configuration: configuration)
    let configurationStop = configurationFindings.first { $0.status == .fail }?.check

    var intelRegistered = Set<GuestPCIAddress>()
    var virtio = VirtioState(configuration)
    var outcomesByIndex: [Int: [Outcome]] = [:]
    let order = devices.indices.filter { !devices[$0].hotplug } + devices.indices.filter { devices[$0].hotplug }
    for index in order {
      let context = DeviceContext(input: devices[index], configuration: configuration, host: host)
      var outcomes = VFIOPrerequisites.outcomes(context)
      switch configuration.model {
      case .intel: outcomes += IntelIOMMUChecks.deviceOutcomes(context, registered: &intelRegistered)
      case .virtio: outcomes += VirtioIOMMUChecks.deviceOutcomes(context, state: &virtio)
      case .smmuv3: outcomes += SMMUv3Checks.deviceOutcomes(context)
      case .amd: outcomes += AMDIOMMUChecks.deviceOutcomes(context)
      }
      outcomesByIndex[index] = outcomes
    }

    let verdicts = devices.indices.map { index -> DeviceVerdict in
      let input = devices[index]
      // Device remedies start from the configuration with its own fixes applied, so the
      // option string they print passes the configuration checks too.
      let findings = settle(
        configurationOutcomes.filter { $0.finding.status == .fail } + (outcomesByIndex[index] ?? []),
        stoppedAt: configurationStop, configuration: configuration
      ).dropFirst(configurationOutcomes.count { $0.finding.status == .fail })
      return DeviceVerdict(
        device: input.device,
        status: verdict(Array(findings), configuration: configurationFindings, realization: input.realization),
        findings: Array(findings))
    }
    return CheckReport(configuration: configuration, configurationFindings: configurationFindings, devices: verdicts)
  }

  /// fail if anything fails; undetermined if anything is undetermined or the answer rests
  /// on a prediction where the kernel was wanted; else pass.
  static func verdict(_ findings: [Finding], configuration: [Finding], realization: DeviceRealization)
    -> FindingStatus
  {
    let statuses = configuration.map(\.status) + findings.map(\.status)
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) || !realization.isDetermined { return .undetermined }
    return .pass
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

  /// Settles a list of outcomes in QEMU's order: marks what QEMU would not reach after the
  /// first failure, and fills each fixable failure's remedy with the configuration that has
  /// every fix of the list applied.
  static func settle(_ outcomes: [Outcome], stoppedAt earlier: String?, configuration: VIOMMUConfiguration)
    -> [Finding]
  {
    var repaired = configuration
    for outcome in outcomes where outcome.finding.status != .pass {
      outcome.fix?(&repaired.options)
    }
    var stop = earlier
    return outcomes.map { outcome in
      var finding = outcome.finding
      finding.qemuStopsEarlierAt = stop
      if stop == nil, finding.status == .fail { stop = finding.check }
      if outcome.fix != nil, finding.status != .pass, var remedy = finding.remedy {
        remedy.qemu = remedy.qemu ?? repaired.qemuDeviceOption
        remedy.libvirt = remedy.libvirt ?? repaired.libvirtXML
        finding.remedy = remedy
      }
      return finding
    }
  }

  // MARK: Configuration checks

  /// Checks of the configuration alone, in QEMU's order: command-line parsing (machine,
  /// properties), then the vIOMMU's realize.
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    var outcomes: [Outcome] = []
    let qemu = configuration.qemu
    if !qemu.isKnown {
      let nearest = qemu > .newest ? QEMUVersion.newest : (QEMUVersion.known.last { $0 <= qemu } ?? .oldest)
      outcomes.append(
        Outcome(
          Finding(
            check: "qemu.version", status: .undetermined,
            message:
              "hiodctl knows the vIOMMU rules of QEMU \(QEMUVersion.oldest)–\(QEMUVersion.newest); \(qemu) is checked with the rules of \(nearest)",
            wording: .hiodctl, qemuVersions: "\(qemu)")))
    }
    outcomes += machineOutcomes(configuration)
    outcomes += propertyOutcomes(configuration)
    switch configuration.model {
    case .intel: outcomes += IntelIOMMUChecks.configurationOutcomes(configuration)
    case .virtio: outcomes += VirtioIOMMUChecks.configurationOutcomes(configuration)
    case .smmuv3: outcomes += SMMUv3Checks.configurationOutcomes(configuration)
    case .amd: break
    }
    return outcomes
  }

  /// The machine must be one the model exists on, and one this QEMU has.
  static func machineOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard let machine = configuration.machine else { return [] }
    var outcomes: [Outcome] = []
    let device = configuration.model.qemuDevice
    let fits: Bool
    let needed: String
    switch configuration.model {
    case .intel:
      fits = machine.family == MachineType.q35
      needed = "a q35 machine"
    case .amd:
      fits = machine.isX86
      needed = "an x86 PC machine"
    case .smmuv3:
      fits = machine.family == MachineType.virt
      needed = "the Arm virt machine"
    case .virtio:
      fits = true
      needed = "any machine"
    }
    if !fits {
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.family", status: .fail, message: "\(device) needs \(needed); \(machine) is not one",
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description,
            evidence: ["--machine \(machine)"],
            remedy: Remedy(summary: "use \(needed) (\(configuration.model == .smmuv3 ? "virt" : "q35"))"))))
    }
    if let version = machine.version, version > configuration.qemu {
      outcomes.append(
        Outcome(
          Finding(
            check: "machine.version", status: .fail,
            message: "QEMU \(configuration.qemu) has no machine type \(machine): it is newer than the QEMU",
            wording: .hiodctl, qemuVersions: "\(configuration.qemu)", evidence: ["--machine \(machine)"],
            remedy: Remedy(summary: "use a machine type of QEMU \(configuration.qemu) or older"))))
    }
    return outcomes
  }

  /// Every explicit option must be a property of the model's device in this release.
  /// QEMU refuses unknown properties while parsing `-device`; the wording used is QEMU's
  /// usual "Property '<type>.<name>' not found", which the digest does not quote.
  static func propertyOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    let device = configuration.model.qemuDevice
    return configuration.explicitProperties.compactMap { property -> Outcome? in
      let introduced = VIOMMUConfiguration.introduction(of: property.name, on: configuration.model)
      if let introduced, configuration.qemu >= introduced { return nil }
      let summary: String
      let versions: String
      if let introduced {
        summary = "\(device) has \(property.name) from QEMU \(introduced) on: drop it or use a newer QEMU"
        versions = "before \(introduced)"
      } else {
        summary = "\(device) has no \(property.name) property: drop it"
        versions = ReleaseSpan.all.description
      }
      let name = property.name
      return Outcome(
        Finding(
          check: "\(configuration.model.rawValue).property.\(name)", status: .fail,
          message: "Property '\(device).\(name)' not found", wording: .hiodctl, qemuVersions: versions,
          evidence: ["\(property) set explicitly"], remedy: Remedy(summary: summary)),
        fix: { options in options.clear(property: name) })
    }
  }
}

// Clearing an option by its QEMU name, for the unknown-property fix.
extension VIOMMUOptions {
  /// Unsets the option QEMU calls `property`.
  mutating func clear(property: String) {
    switch property {
    case "aw-bits": awBits = nil
    case "caching-mode": cachingMode = nil
    case "x-scalable-mode": scalableMode = nil
    case "x-flts": xFlts = nil
    case "fs1gp": fs1gp = nil
    case "granule": granule = nil
    case "accel": accel = nil
    case "oas": oas = nil
    case "ssidsize": ssidsize = nil
    case "ril": ril = nil
    case "ats": ats = nil
    case "dma-remap": dmaRemap = nil
    default: break
    }
  }
}
