// hiodctl — the JSON contract of `hiodctl --json check` (schema_version 1).
// SPDX-License-Identifier: GPL-2.0-or-later

/// The document `hiodctl --json check` prints.
package struct CheckDocument: Encodable, Sendable {
  package let report: CheckReport
  /// The realizations the checks ran on, for each device's backend and provenance.
  package let realizations: [DeviceRealization]
  /// What hiodctl assumed beyond QEMU's defaults (intel's caching-mode=on).
  package let assumptions: [String]
  package let suggestion: Suggestion?

  package init(
    report: CheckReport, realizations: [DeviceRealization], assumptions: [String], suggestion: Suggestion?
  ) {
    self.report = report
    self.realizations = realizations
    self.assumptions = assumptions
    self.suggestion = suggestion
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case viommu, assumptions, status, verdict
    case qemuError = "qemu_error"
    case invocation
    case vmFindings = "vm_findings"
    case configurationFindings = "configuration_findings"
    case devices, suggestion
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(ConfigurationEntry(report.configuration), forKey: .viommu)
    try container.encode(assumptions, forKey: .assumptions)
    try container.encode(report.status.rawValue, forKey: .status)
    try container.encode(report.verdict.rawValue, forKey: .verdict)
    try container.encode(report.qemuError.map(QEMUErrorEntry.init), forKey: .qemuError)
    try container.encode(report.invocation.map(InvocationEntry.init), forKey: .invocation)
    try container.encode(report.vmFindings, forKey: .vmFindings)
    try container.encode(report.configurationFindings, forKey: .configurationFindings)
    let byAddress = Dictionary(
      realizations.map { ($0.device.address, $0) }, uniquingKeysWith: { first, _ in first })
    try container.encode(
      report.devices.map { VerdictEntry(verdict: $0, realization: byAddress[$0.device.address]) },
      forKey: .devices)
    try container.encode(suggestion.map(SuggestionEntry.init), forKey: .suggestion)
  }
}

/// A vIOMMU configuration: what QEMU would be given, with every effective property.
struct ConfigurationEntry: Encodable {
  let configuration: VIOMMUConfiguration
  init(_ configuration: VIOMMUConfiguration) { self.configuration = configuration }

  enum Key: String, CodingKey {
    case model
    case qemuDevice = "qemu_device"
    case qemu, machine
    case deviceOption = "device_option"
    case libvirt
    case libvirtNotes = "libvirt_notes"
    case properties
  }
  enum PropertyKey: String, CodingKey {
    case name, value
    case isDefault = "default"
    case reason
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(configuration.model.rawValue, forKey: .model)
    try container.encode(configuration.model.qemuDevice, forKey: .qemuDevice)
    try container.encode(configuration.qemu.description, forKey: .qemu)
    try container.encode(configuration.effectiveMachine.value.description, forKey: .machine)
    try container.encode(configuration.qemuDeviceOption, forKey: .deviceOption)
    try container.encode(configuration.libvirtXML, forKey: .libvirt)
    try container.encode(configuration.libvirtNotes, forKey: .libvirtNotes)
    var properties = container.nestedUnkeyedContainer(forKey: .properties)
    for property in configuration.effectiveProperties {
      var entry = properties.nestedContainer(keyedBy: PropertyKey.self)
      try entry.encode(property.name, forKey: .name)
      try entry.encode(property.value, forKey: .value)
      try entry.encode(property.isDefault, forKey: .isDefault)
      try entry.encode(property.reason, forKey: .reason)
    }
  }
}

/// The first error QEMU prints.
struct QEMUErrorEntry: Encodable {
  let error: QEMUError
  init(_ error: QEMUError) { self.error = error }

  enum Key: String, CodingKey { case check, bdf, message, location, hint, line, wording, placeholders }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(error.check, forKey: .check)
    try container.encode(error.device?.description, forKey: .bdf)
    try container.encode(error.message, forKey: .message)
    try container.encode(error.location, forKey: .location)
    try container.encode(error.hint, forKey: .hint)
    try container.encode(error.line, forKey: .line)
    try container.encode(error.wording.rawValue, forKey: .wording)
    let placeholders = [MessagePlaceholder.fileDescriptor, MessagePlaceholder.pointer, MessagePlaceholder.objectID]
      .filter { error.line.contains($0) }
    try container.encode(placeholders, forKey: .placeholders)
  }
}

/// The VM the answer is for.
struct InvocationEntry: Encodable {
  let invocation: VMInvocation
  init(_ invocation: VMInvocation) { self.invocation = invocation }

  enum Key: String, CodingKey {
    case origin
    case commandLine = "command_line"
    case memoryMiB = "memory_mib"
    case ignored
    case perDevice = "vm_per_device"
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(invocation.origin.rawValue, forKey: .origin)
    try container.encode(invocation.commandLine, forKey: .commandLine)
    try container.encode(invocation.memoryMiB, forKey: .memoryMiB)
    try container.encode(invocation.ignored, forKey: .ignored)
    try container.encode(invocation.perDevice, forKey: .perDevice)
  }
}

struct VerdictEntry: Encodable {
  let verdict: DeviceVerdict
  let realization: DeviceRealization?

  enum Key: String, CodingKey {
    case bdf, status, verdict
    case qemuError = "qemu_error"
    case backend, predicted
    case awBits = "aw_bits"
    case findings
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(verdict.device.address.description, forKey: .bdf)
    try container.encode(verdict.status.rawValue, forKey: .status)
    try container.encode(verdict.verdict.rawValue, forKey: .verdict)
    try container.encode(verdict.qemuError.map(QEMUErrorEntry.init), forKey: .qemuError)
    let answer = realization?.hostIOMMUDevice
    try container.encode(answer?.backend.rawValue, forKey: .backend)
    try container.encode(answer.map { $0.backend == .sysfs }, forKey: .predicted)
    try container.encode(answer?.awBits, forKey: .awBits)
    try container.encode(verdict.findings, forKey: .findings)
  }
}

extension Finding: Encodable {
  enum Key: String, CodingKey {
    case check, status, message
    case qemuHint = "qemu_hint"
    case wording
    case qemuVersions = "qemu_versions"
    case evidence, predicted, remedy, caveat
    case qemuStopsEarlierAt = "qemu_stops_earlier_at"
    case location, effect
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(check, forKey: .check)
    try container.encode(status.rawValue, forKey: .status)
    try container.encode(message, forKey: .message)
    try container.encode(qemuHint, forKey: .qemuHint)
    try container.encode(wording.rawValue, forKey: .wording)
    try container.encode(qemuVersions, forKey: .qemuVersions)
    try container.encode(evidence, forKey: .evidence)
    try container.encode(predicted, forKey: .predicted)
    try container.encode(remedy, forKey: .remedy)
    try container.encode(caveat, forKey: .caveat)
    try container.encode(qemuStopsEarlierAt, forKey: .qemuStopsEarlierAt)
    try container.encode(location, forKey: .location)
    try container.encode(status == .fail ? effect.rawValue : nil, forKey: .effect)
  }
}

extension Remedy: Encodable {
  enum Key: String, CodingKey { case summary, qemu, libvirt, host }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(summary, forKey: .summary)
    try container.encode(qemu, forKey: .qemu)
    try container.encode(libvirt, forKey: .libvirt)
    try container.encode(host, forKey: .host)
  }
}

struct SuggestionEntry: Encodable {
  let suggestion: Suggestion

  enum Key: String, CodingKey { case configuration, explanation, alternatives, status }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(suggestion.configuration.map(ConfigurationEntry.init), forKey: .configuration)
    try container.encode(suggestion.explanation, forKey: .explanation)
    try container.encode(suggestion.alternatives.map(ConfigurationEntry.init), forKey: .alternatives)
    try container.encode(suggestion.report?.status.rawValue, forKey: .status)
  }
}

/// `hiodctl --json check` over several snapshots: each host's check and the pool's answer.
package struct PoolCheckDocument: Encodable, Sendable {
  package let configuration: VIOMMUConfiguration
  package let assumptions: [String]
  /// The pool's answer, the one the exit status gives: with --suggest the suggested
  /// configuration's over every host, else the checked configuration's.
  package let status: FindingStatus
  package let hosts: [(name: String?, file: String?, check: CheckDocument)]
  package let suggestion: PoolSuggestion?

  package init(
    configuration: VIOMMUConfiguration, assumptions: [String], status: FindingStatus,
    hosts: [(name: String?, file: String?, check: CheckDocument)], suggestion: PoolSuggestion?
  ) {
    self.configuration = configuration
    self.assumptions = assumptions
    self.status = status
    self.hosts = hosts
    self.suggestion = suggestion
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case viommu, assumptions, status, hosts, suggestion
  }
  enum HostKey: String, CodingKey { case name, file, check }
  enum SuggestionKey: String, CodingKey {
    case configuration, explanation
    case limitingHosts = "limiting_hosts"
    case hosts, status
  }
  enum HostSuggestionKey: String, CodingKey {
    case host
    case own = "own_configuration"
    case poolStatus = "pool_status"
    case limitsPool = "limits_pool"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(ConfigurationEntry(configuration), forKey: .viommu)
    try container.encode(assumptions, forKey: .assumptions)
    try container.encode(status.rawValue, forKey: .status)
    var list = container.nestedUnkeyedContainer(forKey: .hosts)
    for host in hosts {
      var entry = list.nestedContainer(keyedBy: HostKey.self)
      try entry.encode(host.name, forKey: .name)
      try entry.encode(host.file, forKey: .file)
      try entry.encode(host.check, forKey: .check)
    }
    guard let suggestion else {
      try container.encodeNil(forKey: .suggestion)
      return
    }
    var entry = container.nestedContainer(keyedBy: SuggestionKey.self, forKey: .suggestion)
    try entry.encode(suggestion.configuration.map(ConfigurationEntry.init), forKey: .configuration)
    try entry.encode(suggestion.explanation, forKey: .explanation)
    try entry.encode(suggestion.limitingHosts, forKey: .limitingHosts)
    try entry.encode(suggestion.status.rawValue, forKey: .status)
    var perHost = entry.nestedUnkeyedContainer(forKey: .hosts)
    for host in suggestion.hosts {
      var item = perHost.nestedContainer(keyedBy: HostSuggestionKey.self)
      try item.encode(host.host, forKey: .host)
      try item.encode(host.own.configuration.map(ConfigurationEntry.init), forKey: .own)
      try item.encode(host.poolReport?.status.rawValue, forKey: .poolStatus)
      try item.encode(host.limitsPool, forKey: .limitsPool)
    }
  }
}
