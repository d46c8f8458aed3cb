// hiodctl snapshot — record the host and every VFIO device through each backend.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum SnapshotCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    guard context.snapshotFiles.isEmpty else {
      throw UsageError(
        message: "snapshot records the live host (or --sysroot); --host does not apply", command: "snapshot")
    }
    let snapshot = try HostSnapshot.take(context.root, options: .init(resolveNames: !context.numeric))
    Output.warnings(snapshot.inventory.warnings)
    let text = String(decoding: try Output.jsonBytes(snapshot), as: UTF8.self) + "\n"
    try Output.document(text, to: invocation.value(.output))
    return .success
  }
}
