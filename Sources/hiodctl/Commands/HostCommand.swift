// hiodctl host — can this host assign devices at all? PASS, WARN or FAIL per prerequisite.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum HostCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    let hosts = try context.hosts()
    for host in hosts { host.reportWarnings(among: hosts.count) }
    let results = hosts.map { HostReadiness.evaluate($0.inventory) }
    let quiet = invocation.has(.quiet)
    if context.json {
      if hosts.count == 1 {
        Output.json(contract: HostDocument(results[0], warnings: hosts[0].inventory.warnings))
      } else {
        Output.json(
          contract: MultiHostDocument(
            hosts: zip(hosts, results).map { ($0.name, $0.file, HostDocument($1, warnings: $0.inventory.warnings)) }))
      }
    } else {
      let sections = zip(hosts, results).map { host, readiness in
        let text = HostText.render(readiness, quiet: quiet)
        return hosts.count == 1 && host.file == nil ? text : "== \(host.title)\n\(text)"
      }
      let text = sections.filter { !$0.isEmpty }.joined(separator: "\n\n")
      if !text.isEmpty { Output.line(text) }
    }
    return ExitStatus.verdict(of: results.map(\.exitStatus))
  }
}

extension ExitStatus {
  /// The status of several verdicts: 1 if any is 1 (a failure outweighs what is
  /// unknown), else 2 if any is 2, else 0.
  static func verdict(of statuses: [ExitStatus]) -> ExitStatus {
    if statuses.contains(.incompatible) { return .incompatible }
    if statuses.contains(.undetermined) { return .undetermined }
    return .success
  }
}
