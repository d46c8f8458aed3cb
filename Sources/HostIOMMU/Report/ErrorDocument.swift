// hiodctl — what --json prints when there is no answer: an error document, so that a
// script reading stdout never mistakes an empty answer for a good one. And the version
// document. Both declared key by key in the contract's table (ContractKey.swift).
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version": 1, "error": {"message", "hints", "exit_status"}}`.
package struct ErrorDocument: ContractDocument, Sendable {
  package static let command = "error"
  package let message: String
  package let hints: [String]
  package let exitStatus: Int32

  package init(message: String, hints: [String], exitStatus: Int32) {
    self.message = message
    self.hints = hints
    self.exitStatus = exitStatus
  }

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case error

    package static let objectName = "error_document"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .error: ContractField(.object(ErrorKey.objectName), "why there is no answer")
      }
    }
  }

  package enum ErrorKey: String, ContractKey {
    case message, hints
    case exitStatus = "exit_status"

    package static let objectName = "error"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .message: ContractField(.string, "the error, as stderr's first line says it")
      case .hints: ContractField(.list(.string), "what to do about it")
      case .exitStatus: ContractField(.integer, "the exit status that goes with it")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .error: .object(Body(document: self))
    }
  }

  /// The `error` object.
  struct Body: ContractObject {
    let document: ErrorDocument

    func value(for key: ErrorKey) -> ContractValue {
      switch key {
      case .message: .string(document.message)
      case .hints: .strings(document.hints)
      case .exitStatus: .integer(Int(document.exitStatus))
      }
    }
  }
}

/// `hiodctl --json --version`: `{"schema_version", "hiodctl_version", "libpci_version"}`.
package struct VersionDocument: ContractDocument, Sendable {
  package static let command = "--version"
  package init() {}

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case hiodctlVersion = "hiodctl_version"
    case libpciVersion = "libpci_version"

    package static let objectName = "version"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .hiodctlVersion: ContractField(.string, "hiodctl's version")
      case .libpciVersion: ContractField(.string, "the libpci it was built with")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .hiodctlVersion: .string(HIODVersion.string)
    case .libpciVersion: .string(HIODVersion.libpci)
    }
  }
}
