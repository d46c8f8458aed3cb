// hiodctl snapshot — record the host and every VFIO device through each backend.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum SnapshotCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    guard context.snapshotFiles.isEmpty else {
      throw UsageError(
        message: "snapshot records the live host (or --sysroot); --host does not apply", command: "snapshot")
    }
    try SnapshotMetadata.validateSourceDateEpoch()
    // The iommufd answer only when asked: its bind opens each device, and the kernel
    // resets it. Say so per device before any bind.
    let withIOMMUFD = invocation.has(.iommufd)
    let force = invocation.has(.force)
    let host = try context.hosts(allowBusReset: force)[0]
    if withIOMMUFD {
      for device in host.inventory.devices where device.isVFIOBound {
        host.announceReset(of: device, backend: .iommufd)
      }
    }
    let snapshot = HostSnapshot.take(
      context.root, inventory: host.inventory,
      backends: withIOMMUFD ? HostSnapshot.recordedBackends : HostSnapshot.defaultBackends, allowBusReset: force)
    Output.warnings(snapshot.inventory.warnings)
    try Output.document(contract: snapshot, to: invocation.value(.output))
    return .success
  }
}
