// hiodctl — what --json prints when there is no answer: an error document, so that a
// script reading stdout never mistakes an empty answer for a good one.
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version": 1, "error": {"message", "hints", "exit_status"}}`.
package struct ErrorDocument: Encodable, Sendable {
  package let message: String
  package let hints: [String]
  package let exitStatus: Int32

  package init(message: String, hints: [String], exitStatus: Int32) {
    self.message = message
    self.hints = hints
    self.exitStatus = exitStatus
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case error
  }
  enum ErrorKey: String, CodingKey {
    case message, hints
    case exitStatus = "exit_status"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    var error = container.nestedContainer(keyedBy: ErrorKey.self, forKey: .error)
    try error.encode(message, forKey: .message)
    try error.encode(hints, forKey: .hints)
    try error.encode(exitStatus, forKey: .exitStatus)
  }
}

/// `hiodctl --json --version`: `{"schema_version", "hiodctl_version", "libpci_version"}`.
package struct VersionDocument: Encodable, Sendable {
  package init() {}

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case hiodctlVersion = "hiodctl_version"
    case libpciVersion = "libpci_version"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(HIODVersion.string, forKey: .hiodctlVersion)
    try container.encode(HIODVersion.libpci, forKey: .libpciVersion)
  }
}
