// hiodctl caps — realize each device's HostIOMMUDevice and report its capabilities.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CapsCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    let choice = invocation.value(.backend).flatMap(BackendChoice.init(rawValue:)) ?? .auto
    let host = try HostInventory.scan(context.root, options: .init(resolveNames: !context.numeric))
    let devices = try DeviceArguments.resolve(invocation.positionals, in: host, command: "caps")
    for warning in host.warnings { Output.error("hiodctl: warning: \(warning)") }

    let realizer = HostIOMMURealizer(root: context.root)
    let results = devices.map { realizer.realize($0, in: host, backend: choice) }
    if context.json {
      try Output.json(CapsDocument(results))
    } else {
      Output.line(results.map { CapsText.render($0, numeric: context.numeric) }.joined(separator: "\n\n"))
    }
    // A prediction (or nothing) where the kernel's answer was wanted is undetermined.
    return results.allSatisfy(\.isDetermined) ? .success : .undetermined
  }
}
