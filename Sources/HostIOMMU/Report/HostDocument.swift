// hiodctl — the JSON contract of `hiodctl --json host` (schema_version 1).
// SPDX-License-Identifier: GPL-2.0-or-later

/// `{"schema_version", "status", "ready", "determined", "checks": [...], "warnings"}`.
package struct HostDocument: Encodable, Sendable {
  package let readiness: HostReadiness
  package let warnings: [String]

  package init(_ readiness: HostReadiness, warnings: [String]) {
    self.readiness = readiness
    self.warnings = warnings
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case status, ready, determined, checks, warnings
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(readiness.status.rawValue, forKey: .status)
    try container.encode(readiness.ready, forKey: .ready)
    try container.encode(readiness.determined, forKey: .determined)
    try container.encode(readiness.checks, forKey: .checks)
    try container.encode(warnings, forKey: .warnings)
  }
}

extension ReadinessCheck: Encodable {
  enum Key: String, CodingKey { case id, title, status, determined, message, evidence, fix, code }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(id, forKey: .id)
    try container.encode(title, forKey: .title)
    try container.encode(status.rawValue, forKey: .status)
    try container.encode(determined, forKey: .determined)
    try container.encode(message, forKey: .message)
    try container.encode(evidence, forKey: .evidence)
    try container.encode(fix, forKey: .fix)
    try container.encode(code, forKey: .code)
  }
}
