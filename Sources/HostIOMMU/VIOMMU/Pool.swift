// hiodctl — answers for a live-migration pool: a configuration is valid only if every
// host accepts it, and the strongest such configuration names the hosts that limit it.
// SPDX-License-Identifier: GPL-2.0-or-later

/// One host of a pool, as the checks see it.
public struct PoolHost: Sendable {
  public var name: String
  public var devices: [DeviceCheckInput]
  public var facts: HostFacts

  public init(name: String, devices: [DeviceCheckInput], facts: HostFacts) {
    self.name = name
    self.devices = devices
    self.facts = facts
  }
}

/// What one host says about the pool's suggested configuration.
public struct PoolHostSuggestion: Sendable {
  public var host: String
  /// The strongest configuration this host alone accepts.
  public var own: Suggestion
  /// The pool configuration checked on this host (nil when there is none).
  public var poolReport: CheckReport?
  /// This host rules out a stronger configuration another host accepts.
  public var limitsPool: Bool
}

/// The strongest configuration every host of a pool accepts.
public struct PoolSuggestion: Sendable {
  public var configuration: VIOMMUConfiguration?
  public var hosts: [PoolHostSuggestion]
  public var explanation: [String]

  /// The hosts that keep the pool from a stronger configuration.
  public var limitingHosts: [String] { hosts.filter(\.limitsPool).map(\.host) }

  /// The suggested configuration's verdict over every host (`suggestion.status`, as a
  /// single host's document has it): fail when there is none or a host fails under it.
  public var status: FindingStatus {
    guard configuration != nil else { return .fail }
    let statuses = hosts.map { $0.poolReport?.status ?? .fail }
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) { return .undetermined }
    return .pass
  }
}

public enum VIOMMUPool {
  /// The configuration checked on every host.
  public static func check(
    _ configuration: VIOMMUConfiguration, hosts: [PoolHost], invocation: VMInvocation? = nil,
    vmPerDevice: Bool = false
  ) -> [CheckReport] {
    hosts.map {
      VIOMMUChecker.check(
        configuration, devices: $0.devices, host: $0.facts, invocation: invocation, vmPerDevice: vmPerDevice)
    }
  }

  /// The worst of the hosts' verdicts: the pool verdict.
  public static func status(_ reports: [CheckReport]) -> FindingStatus {
    let statuses = reports.map(\.status)
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) { return .undetermined }
    return .pass
  }

  /// Each host proposes its strongest configuration; the pool takes the strongest
  /// proposal no host fails. A host limits the pool when a stronger proposal fails on it.
  public static func suggest(
    model: VIOMMUModel, qemu: QEMUVersion, machine: MachineType?, hosts: [PoolHost]
  ) -> PoolSuggestion {
    let own = hosts.map {
      VIOMMUSuggester.suggest(model: model, qemu: qemu, machine: machine, devices: $0.devices, host: $0.facts)
    }
    var candidates: [VIOMMUConfiguration] = []
    for suggestion in own {
      for configuration in [suggestion.configuration].compactMap({ $0 }) + suggestion.alternatives
      where !candidates.contains(configuration) {
        candidates.append(configuration)
      }
    }
    // Strongest first.
    candidates.sort { $1.strength.lexicographicallyPrecedes($0.strength) }
    let verdicts = candidates.map { candidate in
      (candidate, check(candidate, hosts: hosts))
    }
    let chosen = verdicts.first { !$0.1.contains { $0.status == .fail } }
    var perHost: [PoolHostSuggestion] = []
    for (index, host) in hosts.enumerated() {
      let stronger = verdicts.prefix { $0.0 != chosen?.0 }
      let limits = stronger.contains { $0.1[index].status == .fail }
      perHost.append(
        PoolHostSuggestion(host: host.name, own: own[index], poolReport: chosen?.1[index], limitsPool: limits))
    }
    var explanation: [String] = []
    if let chosen {
      let limiting = perHost.filter(\.limitsPool).map(\.host)
      explanation.append(
        limiting.isEmpty
          ? "every host accepts the strongest configuration any of them proposes"
          : "limited by \(limiting.joined(separator: ", ")): stronger configurations fail there")
      if chosen.1.contains(where: { $0.status == .undetermined }) {
        explanation.append("some verdicts rest on predictions or could not be decided")
      }
    } else {
      explanation.append("no configuration one host proposes is accepted by every host")
    }
    return PoolSuggestion(configuration: chosen?.0, hosts: perHost, explanation: explanation)
  }
}

extension VIOMMUConfiguration {
  /// Orders configurations of one model from weakest to strongest, as the suggesters do:
  /// intel — x-flts, then aw-bits; virtio — aw-bits; smmuv3 — accel, oas, ssidsize, ril,
  /// ats; amd — dma-remap.
  public var strength: [Int] {
    func flag(_ value: Effective<Bool>?) -> Int { value?.value == true ? 1 : 0 }
    switch model {
    case .intel: return [flag(xFlts), awBits?.value ?? 0]
    case .virtio: return [awBits?.value ?? 0]
    case .smmuv3: return [flag(accel), oas?.value ?? 0, ssidsize?.value ?? 0, flag(ril), flag(ats)]
    case .amd: return [flag(dmaRemap)]
    case .none: return []
    }
  }
}
