// hiodctl — answers for a live-migration pool: a configuration is valid only if every
// host accepts it, and the strongest such configuration names the hosts that limit it.
// SPDX-License-Identifier: GPL-2.0-or-later

/// One host of a pool, as the checks see it.
package struct PoolHost: Sendable {
  package var name: String
  package var devices: [DeviceCheckInput]
  package var facts: HostFacts

  package init(name: String, devices: [DeviceCheckInput], facts: HostFacts) {
    self.name = name
    self.devices = devices
    self.facts = facts
  }
}

/// What one host says about the pool's suggested configuration.
package struct PoolHostSuggestion: Sendable {
  package var host: String
  /// The strongest configuration this host alone accepts.
  package var own: Suggestion
  /// The pool configuration checked on this host (nil when there is none).
  package var poolReport: CheckReport?
  /// This host rules out a stronger configuration another host accepts.
  package var limitsPool: Bool
}

/// The strongest configuration every host of a pool accepts.
package struct PoolSuggestion: Sendable {
  package var configuration: VIOMMUConfiguration?
  package var hosts: [PoolHostSuggestion]
  package var explanation: [String]

  /// The hosts that keep the pool from a stronger configuration.
  package var limitingHosts: [String] { hosts.filter(\.limitsPool).map(\.host) }

  /// The suggested configuration's verdict over every host (`suggestion.status`, as a
  /// single host's document has it): fail when there is none or a host fails under it.
  package var status: FindingStatus {
    guard configuration != nil else { return .fail }
    let statuses = hosts.map { $0.poolReport?.status ?? .fail }
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) { return .undetermined }
    return .pass
  }
}

package enum VIOMMUPool {
  /// The configuration checked on every host.
  package static func check(
    _ configuration: VIOMMUConfiguration, hosts: [PoolHost], invocation: VMInvocation? = nil,
    vmPerDevice: Bool = false
  ) -> [CheckReport] {
    hosts.map {
      VIOMMUChecker.check(
        configuration, devices: $0.devices, host: $0.facts, invocation: invocation, vmPerDevice: vmPerDevice)
    }
  }

  /// The worst of the hosts' verdicts: the pool verdict.
  package static func status(_ reports: [CheckReport]) -> FindingStatus {
    let statuses = reports.map(\.status)
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) { return .undetermined }
    return .pass
  }

  /// Each host proposes its strongest configuration; the pool takes the strongest
  /// proposal no host fails. A host limits the pool when a stronger proposal fails on it.
  package static func suggest(
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
  package var strength: [Int] { model.definition.strength(self) }
}
