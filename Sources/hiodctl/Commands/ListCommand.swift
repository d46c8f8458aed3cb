// hiodctl list — PCI devices with IOMMU group, driver, VFIO nodes and group viability.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ListCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    var filter = DeviceFilter.all
    if let slot = invocation.value(.slot) { try filter.addSlot(slot) }
    if let id = invocation.value(.id) { try filter.addID(id) }
    let vfioOnly = invocation.has(.vfio)

    let host = try HostInventory.scan(
      context.root, options: .init(resolveNames: !context.numeric))
    let selected = host.selecting { filter.matches($0) && (!vfioOnly || $0.isVFIOBound) }

    for warning in host.warnings { Output.error("hiodctl: warning: \(warning)") }
    if selected.devices.isEmpty && (!filter.isEmpty || vfioOnly) {
      throw noMatch(invocation, host: host)
    }
    if context.json {
      try Output.json(ListDocument(selected))
    } else {
      Output.line(ListText.render(selected, numeric: context.numeric))
    }
    return .success
  }

  /// A filter that selects nothing is an error (exit 3): a script asking for a device
  /// that is not there must not carry on as if it were.
  private static func noMatch(_ invocation: Invocation, host: HostInventory) -> HIODError {
    var criteria: [String] = []
    if let slot = invocation.value(.slot) { criteria.append("-s \(slot)") }
    if let id = invocation.value(.id) { criteria.append("-d \(id)") }
    let onlyVFIO = invocation.has(.vfio)
    if onlyVFIO { criteria.append("--vfio") }
    if onlyVFIO && criteria.count == 1 {
      return HIODError(
        .noMatch,
        host.devices.isEmpty
          ? "no PCI devices found" : "no PCI device is bound to a VFIO driver",
        hints: ["bind a device with: driverctl set-override <BDF> vfio-pci"])
    }
    return HIODError(
      .noMatch, "no PCI device matches \(criteria.joined(separator: " "))",
      hints: ["'hiodctl list' shows all \(host.devices.count) devices"])
  }
}
