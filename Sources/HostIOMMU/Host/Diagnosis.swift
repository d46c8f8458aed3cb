// hiodctl — what is wrong with the host as a whole, in words, with the fix.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A host-level finding of `hiodctl list`: the common reasons device assignment
/// cannot work at all, diagnosed before anyone starts a VM. Each is a WARN or FAIL line of
/// `hiodctl host` (HostReadiness), in the same words.
package struct Diagnosis: Hashable, Sendable {
  package enum Severity: String, Sendable, Hashable, CaseIterable {
    /// Device assignment cannot work on this host as it is.
    case error
    /// Something will fail or is unsafe for some configurations.
    case warning
    /// A limitation worth knowing (e.g. only the legacy backend).
    case info
  }

  package var severity: Severity
  /// A stable identifier scripts can match on (`iommu-disabled`).
  package var code: String
  package var message: String
  package var hint: String?

  package init(severity: Severity, code: String, message: String, hint: String? = nil) {
    self.severity = severity
    self.code = code
    self.message = message
    self.hint = hint
  }
}
