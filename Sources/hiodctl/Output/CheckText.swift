// hiodctl check — verdicts for people (scripts use --json).
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CheckText {
  /// `quiet`: the verdict, one line per device and the summary.
  static func render(
    _ report: CheckReport, realizations: [DeviceRealization], assumptions: [String], numeric: Bool,
    quiet: Bool = false
  ) -> String {
    if quiet { return renderQuiet(report, realizations: realizations, numeric: numeric) }
    let configuration = report.configuration
    var lines = [
      """
      \(configuration.model.qemuDevice), QEMU \(configuration.qemu), \(configuration.effectiveMachine.value): \
      \(configuration.qemuDeviceOption)
      """
    ]
    lines += assumptions.map { "  \($0)" }
    for property in configuration.effectiveProperties where property.isDefault {
      lines.append("  \(property.name)=\(property.value): \(property.reason)")
    }
    if let invocation = report.invocation {
      lines.append("  \(invocation.origin == .flags ? "as" : "VM"): \(invocation.commandLine)")
    }
    lines.append("")
    lines.append("verdict: \(report.verdict.sentence)")
    if let error = report.qemuError {
      lines.append("  \(error.line)")
      if let hint = error.hint { lines.append("  \(hint)") }
      if error.wording == .hiodctl { lines.append("  (hiodctl's wording: QEMU's own text is not known)") }
    }
    for finding in report.configurationFindings + report.vmFindings where finding.status != .pass {
      lines += ["configuration:"] + describe(finding)
    }
    let byAddress = Dictionary(realizations.map { ($0.device.address, $0) }, uniquingKeysWith: { a, _ in a })
    // On a host with thousands of devices the same reason repeats for each: its first
    // line stays, pointing at the device it was shown in full for; a note, once.
    var shownBlocks: [[String]: PCIAddress] = [:]
    var shownNotes: Set<String> = []
    for verdict in report.devices {
      lines.append("")
      lines.append(deviceLine(verdict, realization: byAddress[verdict.device.address], numeric: numeric))
      if report.invocation?.perDevice == true, let error = verdict.qemuError, report.qemuError == nil {
        lines.append("  qemu: \(error.line)")
      }
      for finding in verdict.findings where finding.status != .pass {
        let block = describe(finding)
        let key = block.filter { !$0.hasPrefix("    evidence: ") }.map {
          $0.replacing(verdict.device.address.description, with: "<BDF>")
        }
        if let first = shownBlocks[key], first != verdict.device.address {
          lines.append("\(block[0])  (as for \(first) above)")
        } else {
          shownBlocks[key] = verdict.device.address
          lines += block
        }
      }
      // Passing checks with a caveat still deserve a line: they depend on the guest.
      for finding in verdict.findings where finding.status == .pass && finding.caveat != nil {
        let note = finding.caveat ?? ""
        if shownNotes.insert(note).inserted { lines.append("  note: \(note)") }
      }
    }
    if report.devices.count > 1 {
      lines.append("")
      lines.append(summary(report))
    }
    return lines.joined(separator: "\n")
  }

  /// `0000:01:00.0  INCOMPATIBLE (predicted from sysfs)  Ethernet controller: …`.
  static func deviceLine(_ verdict: DeviceVerdict, realization: DeviceRealization?, numeric: Bool) -> String {
    var status = verdictWord(verdict)
    if realization?.hostIOMMUDevice?.backend == .sysfs { status += " (predicted from sysfs)" }
    return "\(verdict.device.address)  \(status)  \(ListText.describe(verdict.device, numeric: numeric))"
  }

  /// `summary: 2001 checked: 0 compatible, 2001 incompatible, 0 undetermined`.
  static func summary(_ report: CheckReport) -> String {
    let verdicts = report.devices.map(\.verdict)
    let compatible = verdicts.filter { $0 == .works }.count
    let incompatible = verdicts.filter { $0 == .refuses || $0 == .dmaFails }.count
    let undetermined = verdicts.filter { $0 == .undetermined }.count
    return
      """
      summary: \(verdicts.count) checked: \(compatible) compatible, \(incompatible) incompatible, \
      \(undetermined) undetermined
      """
  }

  /// `check -q`: the verdict, each device's line, the summary.
  static func renderQuiet(_ report: CheckReport, realizations: [DeviceRealization], numeric: Bool) -> String {
    let byAddress = Dictionary(realizations.map { ($0.device.address, $0) }, uniquingKeysWith: { a, _ in a })
    var lines = ["verdict: \(report.verdict.sentence)"]
    if let error = report.qemuError { lines.append("  \(error.line)") }
    for verdict in report.devices {
      lines.append(deviceLine(verdict, realization: byAddress[verdict.device.address], numeric: numeric))
    }
    if report.devices.count > 1 { lines.append(summary(report)) }
    return lines.joined(separator: "\n")
  }

  static func statusWord(_ status: FindingStatus) -> String {
    switch status {
    case .pass: "COMPATIBLE"
    case .fail: "INCOMPATIBLE"
    case .undetermined: "UNDETERMINED"
    }
  }

  static func verdictWord(_ verdict: DeviceVerdict) -> String {
    switch verdict.verdict {
    case .works: "COMPATIBLE"
    case .refuses: "INCOMPATIBLE"
    case .dmaFails: "INCOMPATIBLE (DMA fails)"
    case .undetermined: "UNDETERMINED"
    }
  }

  /// A failing or undetermined finding: QEMU's message, where it applies, why, the fix.
  static func describe(_ finding: Finding) -> [String] {
    let marker = finding.status == .fail ? (finding.effect == .dmaFails ? "fail (DMA)" : "fail") : "undetermined"
    var lines = ["  \(marker): \(finding.message)"]
    if let hint = finding.qemuHint { lines.append("        \(hint)") }
    var context = ["QEMU \(finding.qemuVersions)"]
    if finding.wording == .hiodctl { context.append("hiodctl's wording") }
    if let stop = finding.qemuStopsEarlierAt { context.append("QEMU stops earlier at \(stop)") }
    lines.append("    (\(context.joined(separator: "; ")))")
    lines += finding.evidence.map { "    evidence: \($0)" }
    if let caveat = finding.caveat { lines.append("    note: \(caveat)") }
    if let remedy = finding.remedy {
      lines.append("    fix: \(remedy.summary)")
      if let qemu = remedy.qemu { lines.append("      qemu:    \(qemu)") }
      if let libvirt = remedy.libvirt {
        let xml = libvirt.split(separator: "\n")
        lines.append("      libvirt: \(xml.first ?? "")")
        lines += xml.dropFirst().map { "               \($0)" }
      }
      if let host = remedy.host { lines.append("      host:    \(host)") }
    }
    return lines
  }

  /// `quiet`: the suggested configuration only.
  static func render(_ suggestion: Suggestion, quiet: Bool = false) -> String {
    var lines: [String] = []
    if let configuration = suggestion.configuration {
      lines.append("suggested: \(configuration.qemuDeviceOption)")
      if let libvirt = configuration.libvirtXML {
        lines += libvirt.split(separator: "\n").map { "  libvirt: \($0)" }
      }
    } else {
      lines.append("suggested: no configuration works for every selected device")
    }
    if quiet { return lines.prefix(1).joined(separator: "\n") }
    lines += suggestion.explanation.map { "  \($0)" }
    for alternative in suggestion.alternatives {
      lines.append("  alternative: \(alternative.qemuDeviceOption)")
    }
    return lines.joined(separator: "\n")
  }
}

extension CheckText {
  /// The pool summary: each host's verdict, the pool verdict, and the pool suggestion
  /// with the hosts that limit it.
  static func renderPool(_ reports: [CheckReport], hosts: [String], suggestion: PoolSuggestion?) -> String {
    var table = TextTable(headers: ["HOST", "VERDICT", "DEVICES"])
    for (host, report) in zip(hosts, reports) {
      let failing = report.devices.filter { $0.status == .fail }.count
      table.append([host, statusWord(report.status), "\(report.devices.count) checked, \(failing) incompatible"])
    }
    var lines =
      ["pool of \(hosts.count) hosts: \(statusWord(VIOMMUPool.status(reports)))"] + table.lines().map { "  " + $0 }
    guard let suggestion else { return lines.joined(separator: "\n") }
    lines.append("")
    if let configuration = suggestion.configuration {
      lines.append("suggested for the pool: \(configuration.qemuDeviceOption)")
      if let libvirt = configuration.libvirtXML {
        lines += libvirt.split(separator: "\n").map { "  libvirt: \($0)" }
      }
    } else {
      lines.append("suggested for the pool: no configuration works on every host")
    }
    lines += suggestion.explanation.map { "  \($0)" }
    var hostsTable = TextTable(headers: ["HOST", "STRONGEST ALONE", "POOL CONFIGURATION", ""])
    for host in suggestion.hosts {
      hostsTable.append([
        host.host,
        host.own.configuration?.qemuDeviceOption ?? "none",
        host.poolReport.map { statusWord($0.status) } ?? "-",
        host.limitsPool ? "<- limits the pool" : "",
      ])
    }
    lines += hostsTable.lines().map { "  " + $0.trailingSpacesRemoved }
    return lines.joined(separator: "\n")
  }
}
