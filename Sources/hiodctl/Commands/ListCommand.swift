// hiodctl list — PCI devices with IOMMU group, driver, VFIO nodes and group viability.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ListCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    // Repeated -s and -d merge field by field, as lspci's do.
    var filter = DeviceFilter.all
    for slot in invocation.allValues(.slot) { try filter.addSlot(slot) }
    for id in invocation.allValues(.id) { try filter.addID(id) }
    let vfioOnly = invocation.has(.vfio)

    // The table shows less than the JSON document carries, and reads only that.
    let hosts = try context.hosts(scope: context.json ? .complete : .listing)
    let selections = hosts.map { host in
      host.inventory.selecting { filter.matches($0) && (!vfioOnly || $0.isVFIOBound) }
    }
    for host in hosts { host.reportWarnings(among: hosts.count) }
    if selections.allSatisfy(\.devices.isEmpty) && (!filter.isEmpty || vfioOnly) {
      throw noMatch(invocation, hosts: hosts, context: context)
    }
    if context.json {
      if hosts.count == 1 {
        Output.json(contract: ListDocument(selections[0]))
      } else {
        Output.json(
          contract: MultiHostDocument(
            hosts: zip(hosts, selections).map { ($0.name, $0.file, ListDocument($1)) }))
      }
    } else {
      let filtered = !filter.isEmpty || vfioOnly
      let sections = zip(hosts, selections).map { host, selection in
        let table = ListText.render(selection, whole: host.inventory, filtered: filtered, numeric: context.numeric)
        return hosts.count == 1 && host.file == nil ? table : "== \(host.title)\n\(table)"
      }
      Output.line(sections.joined(separator: "\n\n"))
    }
    // The listing stands, but without the groups it is not the answer: a script must
    // not take "no groups" for "no IOMMU" when the groups could not be read.
    if let host = hosts.first(where: { $0.inventory.facts.iommuGroupsError != nil }),
      let error = host.inventory.facts.iommuGroupsError
    {
      Output.error("hiodctl: cannot read /sys/kernel/iommu_groups of \(host.place): \(error)")
      return .runtimeError
    }
    return .success
  }

  /// A filter that selects nothing is an error (exit 3): a script asking for a device
  /// that is not there must not carry on as if it were.
  private static func noMatch(_ invocation: Invocation, hosts: [HostView], context: CommandContext) -> HIODError {
    let deviceCount = hosts.map(\.inventory.devices.count).reduce(0, +)
    var criteria: [String] = []
    criteria += invocation.allValues(.slot).map { "-s \($0)" }
    criteria += invocation.allValues(.id).map { "-d \($0)" }
    let onlyVFIO = invocation.has(.vfio)
    if onlyVFIO { criteria.append("--vfio") }
    if onlyVFIO && criteria.count == 1 {
      return noVFIODevice(hosts: hosts, deviceCount: deviceCount, context: context)
    }
    return HIODError(
      .noMatch, "no PCI device matches \(criteria.joined(separator: " "))",
      hints: ["'\(context.commandPrefix) list' shows all \(deviceCount) devices"])
  }

  /// No device is bound to a VFIO driver: bind one, unless the host cannot assign any
  /// (no IOMMU), where binding would not help: then what `hiodctl host` says.
  static func noVFIODevice(hosts: [HostView], deviceCount: Int, context: CommandContext) -> HIODError {
    let place = hosts.count == 1 ? " on \(hosts[0].place)" : ""
    let message = deviceCount == 0 ? "no PCI devices found" : "no PCI device is bound to a VFIO driver\(place)"
    let blocking = hosts.flatMap { HostReadiness.evaluate($0.inventory).checks }
      .filter { $0.status == .fail && ["iommu-disabled", "dma-remapping-disabled"].contains($0.code ?? "") }
    if let first = blocking.first {
      return HIODError(
        .noMatch, message,
        hints: ["binding one would not help: \(first.message)"] + (first.fix.map { [$0] } ?? [])
          + ["'\(context.commandPrefix) host' lists what device assignment needs"])
    }
    return HIODError(.noMatch, message, hints: ["bind a device with: driverctl set-override <BDF> vfio-pci"])
  }
}
