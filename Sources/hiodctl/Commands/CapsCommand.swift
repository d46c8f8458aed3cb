// hiodctl caps — realize each device's HostIOMMUDevice and report its capabilities.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CapsCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    let choice = invocation.value(.backend).flatMap(BackendChoice.init(rawValue:)) ?? .auto
    let hosts = try context.hosts(allowBusReset: invocation.has(.force))
    var results: [[DeviceRealization]] = []
    for host in hosts {
      let devices = try DeviceArguments.resolve(invocation.positionals, in: host, command: "caps")
      host.reportWarnings(among: hosts.count)
      results.append(devices.map { host.realize($0, backend: choice) })
    }
    if context.json {
      if hosts.count == 1 {
        Output.json(contract: CapsDocument(results[0]))
      } else {
        Output.json(
          contract: MultiHostDocument(hosts: zip(hosts, results).map { ($0.name, $0.file, CapsDocument($1)) }))
      }
    } else {
      let sections = zip(hosts, results).map { host, realizations in
        let text = realizations.map { CapsText.render($0, numeric: context.numeric) }
          .joined(separator: "\n\n")
        return hosts.count == 1 && host.file == nil ? text : "== \(host.title)\n\(text)"
      }
      Output.line(context.contextual(sections.joined(separator: "\n\n")))
    }
    // A prediction (or nothing) where the kernel's answer was wanted is undetermined, and
    // so is everything when the groups could not be read.
    let groupsUnknown = hosts.contains { $0.inventory.facts.iommuGroupsError != nil }
    return results.joined().allSatisfy(\.isDetermined) && !groupsUnknown ? .success : .undetermined
  }
}
