// hiodctl host — the readiness lines for people (scripts use --json or the exit status).
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum HostText {
  /// `PASS  IOMMU                    the IOMMU is enabled: Intel VT-d (dmar0)`, with the
  /// evidence and (unless it passes) the fix under it; `quiet`: only the WARN and FAIL
  /// lines, without evidence.
  static func render(_ readiness: HostReadiness, quiet: Bool) -> String {
    let width = readiness.checks.map(\.title.displayWidth).max() ?? 0
    var lines: [String] = []
    for check in readiness.checks where !quiet || check.status != .pass {
      lines.append("\(check.status.word)  \(check.title.padding(to: width))  \(check.message)")
      if quiet { continue }
      lines += check.evidence.map { "      evidence: \($0)" }
      if check.status != .pass, let fix = check.fix { lines.append("      fix: \(fix)") }
    }
    if !quiet { lines.append(summary(readiness)) }
    return lines.joined(separator: "\n")
  }

  /// `host: not ready: 1 FAIL, 2 WARN, 9 PASS (1 could not be told)`.
  static func summary(_ readiness: HostReadiness) -> String {
    let counts = readiness.counts
    let verdict = readiness.ready ? (readiness.determined ? "ready" : "ready as far as it can be told") : "not ready"
    let unknown = readiness.checks.filter { !$0.determined }.count
    return "host: \(verdict): \(counts[.fail] ?? 0) FAIL, \(counts[.warn] ?? 0) WARN, \(counts[.pass] ?? 0) PASS"
      + (unknown > 0 ? " (\(unknown) could not be told)" : "")
  }

  /// A `list` diagnosis in the words of `host`: error is FAIL, warning and info are WARN.
  static func word(_ severity: Diagnosis.Severity) -> String {
    severity == .error ? ReadinessStatus.fail.word : ReadinessStatus.warn.word
  }
}
