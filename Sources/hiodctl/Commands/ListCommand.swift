// hiodctl list — PCI devices with IOMMU group, driver, VFIO nodes and group viability.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ListCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    var filter = DeviceFilter.all
    if let slot = invocation.value(.slot) { try filter.addSlot(slot) }
    if let id = invocation.value(.id) { try filter.addID(id) }
    let vfioOnly = invocation.has(.vfio)

    let hosts = try context.hosts()
    let selections = hosts.map { host in
      host.inventory.selecting { filter.matches($0) && (!vfioOnly || $0.isVFIOBound) }
    }
    for host in hosts { host.reportWarnings(among: hosts.count) }
    if selections.allSatisfy(\.devices.isEmpty) && (!filter.isEmpty || vfioOnly) {
      throw noMatch(invocation, deviceCount: hosts.map(\.inventory.devices.count).reduce(0, +))
    }
    if context.json {
      if hosts.count == 1 {
        try Output.json(ListDocument(selections[0]))
      } else {
        try Output.json(
          MultiHostDocument(
            key: "list", hosts: zip(hosts, selections).map { ($0.name, $0.file, ListDocument($1)) }))
      }
    } else {
      let sections = zip(hosts, selections).map { host, selection in
        let table = ListText.render(selection, numeric: context.numeric)
        return hosts.count == 1 && host.file == nil ? table : "== \(host.title)\n\(table)"
      }
      Output.line(sections.joined(separator: "\n\n"))
    }
    return .success
  }

  /// A filter that selects nothing is an error (exit 3): a script asking for a device
  /// that is not there must not carry on as if it were.
  private static func noMatch(_ invocation: Invocation, deviceCount: Int) -> HIODError {
    var criteria: [String] = []
    if let slot = invocation.value(.slot) { criteria.append("-s \(slot)") }
    if let id = invocation.value(.id) { criteria.append("-d \(id)") }
    let onlyVFIO = invocation.has(.vfio)
    if onlyVFIO { criteria.append("--vfio") }
    if onlyVFIO && criteria.count == 1 {
      return HIODError(
        .noMatch,
        deviceCount == 0 ? "no PCI devices found" : "no PCI device is bound to a VFIO driver",
        hints: ["bind a device with: driverctl set-override <BDF> vfio-pci"])
    }
    return HIODError(
      .noMatch, "no PCI device matches \(criteria.joined(separator: " "))",
      hints: ["'hiodctl list' shows all \(deviceCount) devices"])
  }
}
