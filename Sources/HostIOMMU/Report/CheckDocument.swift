// hiodctl — the JSON contract of `hiodctl --json check` (schema_version 1), declared key
// by key in the contract's table (ContractKey.swift).
// SPDX-License-Identifier: GPL-2.0-or-later

/// The document `hiodctl --json check` prints.
package struct CheckDocument: ContractDocument, Sendable {
  package static let command = "check"
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

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case viommu, assumptions, status, verdict
    case qemuError = "qemu_error"
    case invocation
    case vmFindings = "vm_findings"
    case configurationFindings = "configuration_findings"
    case devices, suggestion

    package static let objectName = "check"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .viommu: ContractField(.object(ConfigurationEntry.Key.objectName), "the vIOMMU configuration checked")
      case .assumptions: ContractField(.list(.string), "what hiodctl assumed beyond QEMU's defaults")
      case .status: ContractField(.choice(choices(of: FindingStatus.self)), "the answer; the exit status follows it")
      case .verdict: ContractField(.choice(choices(of: QEMUVerdict.self)), "what QEMU would do with this VM")
      case .qemuError:
        ContractField(.nullable(.object(QEMUErrorEntry.Key.objectName)), "the first error QEMU prints; null: none")
      case .invocation:
        ContractField(.nullable(.object(InvocationEntry.Key.objectName)), "the VM checked; null: none was stated")
      case .vmFindings: ContractField(.list(.object(Finding.Key.objectName)), "the checks of the VM as a whole")
      case .configurationFindings:
        ContractField(.list(.object(Finding.Key.objectName)), "the checks of the vIOMMU configuration alone")
      case .devices: ContractField(.list(.object(VerdictEntry.Key.objectName)), "each device's verdict")
      case .suggestion:
        ContractField(.nullable(.object(SuggestionEntry.Key.objectName)), "with --suggest, what to run instead")
      }
    }
  }

  private var realizationsByAddress: [PCIAddress: DeviceRealization] {
    Dictionary(realizations.map { ($0.device.address, $0) }, uniquingKeysWith: { first, _ in first })
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .viommu: .object(ConfigurationEntry(report.configuration))
    case .assumptions: .strings(assumptions)
    case .status: .string(report.status.rawValue)
    case .verdict: .string(report.verdict.rawValue)
    case .qemuError: .optional(report.qemuError) { .object(QEMUErrorEntry($0)) }
    case .invocation: .optional(report.invocation) { .object(InvocationEntry($0)) }
    case .vmFindings: .objects(report.vmFindings)
    case .configurationFindings: .objects(report.configurationFindings)
    case .devices:
      // One lookup table, not a scan per device: `check --all` has thousands. The first
      // realization of an address wins, as a scan would find it.
      .objects(
        report.devices.map { [byAddress = realizationsByAddress] verdict in
          VerdictEntry(verdict: verdict, realization: byAddress[verdict.device.address])
        })
    case .suggestion: .optional(suggestion) { .object(SuggestionEntry(suggestion: $0)) }
    }
  }
}

/// A vIOMMU configuration: what QEMU would be given, with every effective property.
struct ConfigurationEntry: ContractObject {
  let configuration: VIOMMUConfiguration
  init(_ configuration: VIOMMUConfiguration) { self.configuration = configuration }

  enum Key: String, ContractKey {
    case model
    case qemuDevice = "qemu_device"
    case qemu, machine
    case deviceOption = "device_option"
    case libvirt
    case libvirtNotes = "libvirt_notes"
    case properties

    static let objectName = "viommu_configuration"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .model: ContractField(.choice(choices(of: VIOMMUModel.self)), "the vIOMMU model (--viommu)")
      case .qemuDevice: ContractField(.nullable(.string), "QEMU's device name (intel-iommu); null: no vIOMMU")
      case .qemu: ContractField(.string, "the QEMU release the answer is for (--qemu)")
      case .machine: ContractField(.string, "the machine type QEMU would use")
      case .deviceOption: ContractField(.string, "the -device option to give QEMU")
      case .libvirt: ContractField(.nullable(.string), "the libvirt <iommu> element; null: libvirt cannot say it")
      case .libvirtNotes: ContractField(.list(.string), "what libvirt cannot express, or spells differently")
      case .properties:
        ContractField(.list(.object(PropertyEntry.Key.objectName)), "every property QEMU will use, with why")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .model: .string(configuration.model.rawValue)
    case .qemuDevice: .string(configuration.model.qemuDevice)
    case .qemu: .string(configuration.qemu.description)
    case .machine: .string(configuration.effectiveMachine.value.description)
    case .deviceOption: .string(configuration.qemuDeviceOption)
    case .libvirt: .string(configuration.libvirtXML)
    case .libvirtNotes: .strings(configuration.libvirtNotes)
    case .properties: .objects(configuration.effectiveProperties.map(PropertyEntry.init))
    }
  }
}

/// One effective property of a configuration.
struct PropertyEntry: ContractObject {
  let property: EffectiveProperty

  enum Key: String, ContractKey {
    case name, value
    case isDefault = "default"
    case reason

    static let objectName = "viommu_property"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .name: ContractField(.string, "QEMU's property name (aw-bits)")
      case .value: ContractField(.string, "the value QEMU will use, as QEMU spells it")
      case .isDefault: ContractField(.boolean, "whether it is QEMU's default")
      case .reason: ContractField(.string, "why the value is what it is")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(property.name)
    case .value: .string(property.value)
    case .isDefault: .boolean(property.isDefault)
    case .reason: .string(property.reason)
    }
  }
}

/// The first error QEMU prints.
struct QEMUErrorEntry: ContractObject {
  let error: QEMUError
  init(_ error: QEMUError) { self.error = error }

  enum Key: String, ContractKey {
    case check, bdf, message, location, hint, line, wording, placeholders

    static let objectName = "qemu_error"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .check: ContractField(.string, "the check that fails first")
      case .bdf: ContractField(.nullable(.pciAddress), "the device it fails for; null: the VM as a whole")
      case .message: ContractField(.string, "QEMU's message")
      case .location: ContractField(.nullable(.string), "the option QEMU names before it; null: none")
      case .hint: ContractField(.nullable(.string), "the hint QEMU prints after it; null: none")
      case .line: ContractField(.string, "the whole line QEMU prints on stderr")
      case .wording:
        ContractField(.choice(choices(of: MessageWording.self)), "qemu: QEMU's words; hiodctl: hiodctl's own")
      case .placeholders:
        ContractField(.list(.choice(QEMUErrorEntry.placeholders)), "what in the line stands for a run-time value")
      }
    }
  }

  static let placeholders = [
    MessagePlaceholder.fileDescriptor, MessagePlaceholder.pointer, MessagePlaceholder.objectID,
  ]

  func value(for key: Key) -> ContractValue {
    switch key {
    case .check: .string(error.check)
    case .bdf: .string(error.device?.description)
    case .message: .string(error.message)
    case .location: .string(error.location)
    case .hint: .string(error.hint)
    case .line: .string(error.line)
    case .wording: .string(error.wording.rawValue)
    case .placeholders: .strings(Self.placeholders.filter { error.line.contains($0) })
    }
  }
}

/// The VM the answer is for.
struct InvocationEntry: ContractObject {
  let invocation: VMInvocation
  init(_ invocation: VMInvocation) { self.invocation = invocation }

  enum Key: String, ContractKey {
    case origin
    case commandLine = "command_line"
    case memoryMiB = "memory_mib"
    case ignored
    case perDevice = "vm_per_device"

    static let objectName = "invocation"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .origin:
        ContractField(
          .choice(choices(of: InvocationOrigin.self)), "where the VM came from: flags, command line, domain")
      case .commandLine: ContractField(.string, "the QEMU command line the answer is for")
      case .memoryMiB: ContractField(.integer, "the guest's memory, in MiB")
      case .ignored: ContractField(.list(.string), "what in the input did not matter to the answer")
      case .perDevice: ContractField(.boolean, "whether each device was checked in a VM of its own (--all)")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .origin: .string(invocation.origin.rawValue)
    case .commandLine: .string(invocation.commandLine)
    case .memoryMiB: .unsigned(invocation.memoryMiB)
    case .ignored: .strings(invocation.ignored)
    case .perDevice: .boolean(invocation.perDevice)
    }
  }
}

/// One device's verdict.
struct VerdictEntry: ContractObject {
  let verdict: DeviceVerdict
  let realization: DeviceRealization?

  enum Key: String, ContractKey {
    case bdf, status, verdict
    case qemuError = "qemu_error"
    case backend, predicted
    case awBits = "aw_bits"
    case findings

    static let objectName = "device_verdict"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function")
      case .status: ContractField(.choice(choices(of: FindingStatus.self)), "its answer")
      case .verdict: ContractField(.choice(choices(of: QEMUVerdict.self)), "what QEMU would do with it")
      case .qemuError:
        ContractField(.nullable(.object(QEMUErrorEntry.Key.objectName)), "the first error QEMU prints for it")
      case .backend:
        ContractField(.nullable(.choice(choices(of: HostIOMMUBackend.self))), "the backend the checks used")
      case .predicted: ContractField(.nullable(.boolean), "whether the checks ran on the sysfs prediction")
      case .awBits: ContractField(.nullable(.integer), "the host's aw_bits for it; null: not known")
      case .findings: ContractField(.list(.object(Finding.Key.objectName)), "every check run on it")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    let answer = realization?.hostIOMMUDevice
    return switch key {
    case .bdf: .string(verdict.device.address.description)
    case .status: .string(verdict.status.rawValue)
    case .verdict: .string(verdict.verdict.rawValue)
    case .qemuError: .optional(verdict.qemuError) { .object(QEMUErrorEntry($0)) }
    case .backend: .string(answer?.backend.rawValue)
    case .predicted: .boolean(answer.map { $0.backend == .sysfs })
    case .awBits: .integer(answer?.awBits)
    case .findings: .objects(verdict.findings)
    }
  }
}

extension Finding: ContractObject {
  package enum Key: String, ContractKey {
    case check, status, message
    case qemuHint = "qemu_hint"
    case wording
    case qemuVersions = "qemu_versions"
    case evidence, predicted, remedy, caveat
    case qemuStopsEarlierAt = "qemu_stops_earlier_at"
    case location, effect

    package static let objectName = "finding"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .check: ContractField(.string, "the check's id")
      case .status: ContractField(.choice(choices(of: FindingStatus.self)), "its answer")
      case .message: ContractField(.string, "QEMU's message (or hiodctl's, see wording)")
      case .qemuHint: ContractField(.nullable(.string), "the hint QEMU prints after it; null: none")
      case .wording: ContractField(.choice(choices(of: MessageWording.self)), "whose words the message is")
      case .qemuVersions: ContractField(.string, "the QEMU releases that make this check")
      case .evidence: ContractField(.list(.string), "what the answer rests on")
      case .predicted: ContractField(.boolean, "whether it rests on the sysfs prediction")
      case .remedy: ContractField(.nullable(.object(Remedy.Key.objectName)), "the fix; null: none needed or known")
      case .caveat: ContractField(.nullable(.string), "what the answer cannot know")
      case .qemuStopsEarlierAt: ContractField(.nullable(.string), "the earlier check QEMU stops at instead")
      case .location: ContractField(.nullable(.string), "the option QEMU names before the message")
      case .effect:
        ContractField(.nullable(.choice(choices(of: FailureEffect.self))), "for a failure: what QEMU does; else null")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .check: .string(check)
    case .status: .string(status.rawValue)
    case .message: .string(message)
    case .qemuHint: .string(qemuHint)
    case .wording: .string(wording.rawValue)
    case .qemuVersions: .string(qemuVersions)
    case .evidence: .strings(evidence)
    case .predicted: .boolean(predicted)
    case .remedy: .object(remedy)
    case .caveat: .string(caveat)
    case .qemuStopsEarlierAt: .string(qemuStopsEarlierAt)
    case .location: .string(location)
    case .effect: .string(status == .fail ? effect.rawValue : nil)
    }
  }
}

extension Remedy: ContractObject {
  package enum Key: String, ContractKey {
    case summary, qemu, libvirt, host

    package static let objectName = "remedy"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .summary: ContractField(.string, "the fix, in words")
      case .qemu: ContractField(.nullable(.string), "the QEMU option that fixes it")
      case .libvirt: ContractField(.nullable(.string), "the libvirt XML that fixes it")
      case .host: ContractField(.nullable(.string), "the change to the host that fixes it")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .summary: .string(summary)
    case .qemu: .string(qemu)
    case .libvirt: .string(libvirt)
    case .host: .string(host)
    }
  }
}

/// `--suggest`: the configuration to use instead.
struct SuggestionEntry: ContractObject {
  let suggestion: Suggestion

  enum Key: String, ContractKey {
    case configuration, explanation, alternatives, status

    static let objectName = "suggestion"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .configuration:
        ContractField(
          .nullable(.object(ConfigurationEntry.Key.objectName)), "the strongest configuration that works; null: none")
      case .explanation: ContractField(.list(.string), "how it was found")
      case .alternatives:
        ContractField(.list(.object(ConfigurationEntry.Key.objectName)), "other configurations that work")
      case .status:
        ContractField(.nullable(.choice(choices(of: FindingStatus.self))), "the suggested configuration's answer")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .configuration: .optional(suggestion.configuration) { .object(ConfigurationEntry($0)) }
    case .explanation: .strings(suggestion.explanation)
    case .alternatives: .objects(suggestion.alternatives.map(ConfigurationEntry.init))
    case .status: .string(suggestion.report?.status.rawValue)
    }
  }
}

/// `hiodctl --json check` over several snapshots: each host's check and the pool's answer.
package struct PoolCheckDocument: ContractDocument, Sendable {
  package static let command = "check --host FILE --host FILE"
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

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case viommu, assumptions, status, hosts, suggestion

    package static let objectName = "pool_check"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .viommu: ContractField(.object(ConfigurationEntry.Key.objectName), "the vIOMMU configuration checked")
      case .assumptions: ContractField(.list(.string), "what hiodctl assumed beyond QEMU's defaults")
      case .status: ContractField(.choice(choices(of: FindingStatus.self)), "the pool's answer (the exit status's)")
      case .hosts: ContractField(.list(.object(PoolHostEntry.Key.objectName)), "each host's check, in --host order")
      case .suggestion:
        ContractField(
          .nullable(.object(PoolSuggestionEntry.Key.objectName)), "with --suggest, one configuration for every host")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .viommu: .object(ConfigurationEntry(configuration))
    case .assumptions: .strings(assumptions)
    case .status: .string(status.rawValue)
    case .hosts: .objects(hosts.map { PoolHostEntry(name: $0.name, file: $0.file, check: $0.check) })
    case .suggestion: .optional(suggestion) { .object(PoolSuggestionEntry(suggestion: $0)) }
    }
  }
}

/// One host of a pool check.
struct PoolHostEntry: ContractObject {
  let name: String?
  let file: String?
  let check: CheckDocument

  enum Key: String, ContractKey {
    case name, file, check

    static let objectName = "pool_host"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .name: ContractField(.nullable(.string), "the host's name, from its snapshot")
      case .file: ContractField(.nullable(.string), "the snapshot file (--host)")
      case .check: ContractField(.object(CheckDocument.Key.objectName), "the host's check document")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(name)
    case .file: .string(file)
    case .check: .object(check)
    }
  }
}

/// `--suggest` over a pool.
struct PoolSuggestionEntry: ContractObject {
  let suggestion: PoolSuggestion

  enum Key: String, ContractKey {
    case configuration, explanation
    case limitingHosts = "limiting_hosts"
    case hosts, status

    static let objectName = "pool_suggestion"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .configuration:
        ContractField(
          .nullable(.object(ConfigurationEntry.Key.objectName)), "the strongest configuration every host accepts")
      case .explanation: ContractField(.list(.string), "how it was found")
      case .limitingHosts: ContractField(.list(.string), "the hosts that hold the pool below their own best")
      case .hosts: ContractField(.list(.object(PoolHostSuggestionEntry.Key.objectName)), "each host's own best")
      case .status: ContractField(.choice(choices(of: FindingStatus.self)), "the suggestion's answer over the pool")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .configuration: .optional(suggestion.configuration) { .object(ConfigurationEntry($0)) }
    case .explanation: .strings(suggestion.explanation)
    case .limitingHosts: .strings(suggestion.limitingHosts)
    case .hosts: .objects(suggestion.hosts.map(PoolHostSuggestionEntry.init))
    case .status: .string(suggestion.status.rawValue)
    }
  }
}

/// One host's part in a pool's suggestion.
struct PoolHostSuggestionEntry: ContractObject {
  let host: PoolHostSuggestion

  enum Key: String, ContractKey {
    case host
    case own = "own_configuration"
    case poolStatus = "pool_status"
    case limitsPool = "limits_pool"

    static let objectName = "pool_host_suggestion"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .host: ContractField(.string, "the host")
      case .own:
        ContractField(.nullable(.object(ConfigurationEntry.Key.objectName)), "the strongest it alone accepts")
      case .poolStatus:
        ContractField(.nullable(.choice(choices(of: FindingStatus.self))), "the pool's suggestion's answer on it")
      case .limitsPool: ContractField(.boolean, "whether it holds the pool below the others")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .host: .string(host.host)
    case .own: .optional(host.own.configuration) { .object(ConfigurationEntry($0)) }
    case .poolStatus: .string(host.poolReport?.status.rawValue)
    case .limitsPool: .boolean(host.limitsPool)
    }
  }
}
