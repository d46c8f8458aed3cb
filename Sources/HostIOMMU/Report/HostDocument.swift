// hiodctl — the JSON contract of `hiodctl --json host` (schema_version 1), declared key
// by key in the contract's table (ContractKey.swift).
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version", "status", "ready", "determined", "checks": [...], "warnings"}`.
package struct HostDocument: ContractDocument, Sendable {
  package static let command = "host"
  package let readiness: HostReadiness
  package let warnings: [String]

  package init(_ readiness: HostReadiness, warnings: [String]) {
    self.readiness = readiness
    self.warnings = warnings
  }

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case status, ready, determined, checks, warnings

    package static let objectName = "host_readiness"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .status: ContractField(.choice(choices(of: ReadinessStatus.self)), "the worst check's status")
      case .ready: ContractField(.boolean, "whether the host is ready for device assignment")
      case .determined: ContractField(.boolean, "whether every check could be answered")
      case .checks: ContractField(.list(.object(ReadinessCheck.Key.objectName)), "each readiness check, in order")
      case .warnings: ContractField(.list(.string), "what could not be read; the scan carried on")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .status: .string(readiness.status.rawValue)
    case .ready: .boolean(readiness.ready)
    case .determined: .boolean(readiness.determined)
    case .checks: .objects(readiness.checks)
    case .warnings: .strings(warnings)
    }
  }
}

extension ReadinessCheck: ContractObject {
  package enum Key: String, ContractKey {
    case id, title, status, determined, message, evidence, fix, code

    package static let objectName = "readiness_check"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .id: ContractField(.string, "the check's id")
      case .title: ContractField(.string, "what it checks, in words")
      case .status: ContractField(.choice(choices(of: ReadinessStatus.self)), "its answer")
      case .determined: ContractField(.boolean, "whether it could be answered")
      case .message: ContractField(.string, "the answer, in words")
      case .evidence: ContractField(.list(.string), "what the answer rests on")
      case .fix: ContractField(.nullable(.string), "what to do; null: nothing")
      case .code: ContractField(.nullable(.string), "the diagnosis code behind it; null: none")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .id: .string(id)
    case .title: .string(title)
    case .status: .string(status.rawValue)
    case .determined: .boolean(determined)
    case .message: .string(message)
    case .evidence: .strings(evidence)
    case .fix: .string(fix)
    case .code: .string(code)
    }
  }
}
