// hiodctl list — the table for people (scripts use --json).
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ListText {
  static func render(_ host: HostInventory, numeric: Bool) -> String {
    var lines = hostSummary(host)
    lines.append("")
    var table = TextTable(headers: ["BDF", "GROUP", "DRIVER", "VFIO", "CDEV", "VIABLE", "DEVICE"])
    for device in host.devices {
      let group = host.group(device.iommuGroup)
      table.append([
        device.address.description,
        device.iommuGroup.map(String.init) ?? "-",
        device.driver ?? "-",
        device.isVFIOBound ? (group?.vfioNode.map(nodeText) ?? "-") : "-",
        device.vfioCdev.map { $0.node.present ? $0.name : "\($0.name) (missing)" } ?? "-",
        group.map { $0.isViable ? "yes" : "no" } ?? "-",
        describe(device, numeric: numeric),
      ])
    }
    lines += table.lines()
    for group in host.groups where !group.isViable {
      lines.append("")
      lines += viabilityExplanation(group)
    }
    return lines.joined(separator: "\n")
  }

  /// The host line and the diagnoses under it.
  static func hostSummary(_ host: HostInventory) -> [String] {
    let facts = host.facts
    var parts: [String] = []
    switch facts.iommuUnits.count {
    case 0: parts.append("no IOMMU units")
    case let count:
      let units = facts.iommuUnits.map { "\($0.name): \($0.vendorDescription)" }
      parts.append("\(count) IOMMU unit\(count == 1 ? "" : "s") (\(units.joined(separator: ", ")))")
    }
    let groups = facts.iommuGroupCount
    parts.append(groups == 0 ? "no IOMMU groups" : "\(groups) IOMMU group\(groups == 1 ? "" : "s")")
    parts.append("\(facts.vfioContainer.path) \(facts.vfioContainer.present ? "present" : "missing")")
    parts.append("\(facts.iommufd.path) \(facts.iommufd.present ? "present" : "missing")")
    parts.append("interrupt remapping \(facts.interruptRemapping.rawValue)")
    var lines = ["host: " + parts.joined(separator: ", ")]
    for diagnosis in host.diagnoses {
      lines.append("\(diagnosis.severity.rawValue): \(diagnosis.message)")
      if let hint = diagnosis.hint { lines.append("  hint: \(hint)") }
    }
    return lines
  }

  /// `Ethernet controller: Intel Corporation 82574L … [8086:10d3]`, or with --numeric
  /// `0200: 8086:10d3`.
  static func describe(_ device: PCIDevice, numeric: Bool) -> String {
    let id = device.identity
    let ids = "\(id.vendorID.hex(width: 4)):\(id.deviceID.hex(width: 4))"
    if numeric {
      return "\(id.classCode.hex(width: 4)): \(ids)"
    }
    let names = device.names
    let deviceClass = names.deviceClass ?? "Class \(id.classCode.hex(width: 4))"
    let vendor = names.vendor ?? "Vendor \(id.vendorID.hex(width: 4))"
    let model = names.device ?? "Device \(id.deviceID.hex(width: 4))"
    return "\(deviceClass): \(vendor) \(model) [\(ids)]"
  }

  private static func nodeText(_ node: DeviceNode) -> String {
    node.present ? node.path : "\(node.path) (missing)"
  }

  /// Why QEMU would say "group N is not viable", and what to do.
  static func viabilityExplanation(_ group: IOMMUGroup) -> [String] {
    let blockers = group.blockers.map { "\($0.name) is bound to \($0.driver ?? "?")" }
    var lines = ["group \(group.id) is not viable: \(blockers.joined(separator: "; "))"]
    let first = group.blockers.first?.name ?? "<BDF>"
    lines.append(
      "  hint: bind every device of group \(group.id) to vfio-pci or unbind it, "
        + "e.g. driverctl set-override \(first) vfio-pci")
    return lines
  }
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
struct TextTable {
  let headers: [String]
  private var rows: [[String]] = []

  init(headers: [String]) {
    self.headers = headers
  }

  mutating func append(_ row: [String]) {
    precondition(row.count == headers.count, "row width must match the headers")
    rows.append(row)
  }

  func lines() -> [String] {
    let all = [headers] + rows
    let widths = headers.indices.map { column in all.map { $0[column].displayWidth }.max() ?? 0 }
    return all.map { row in
      row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell.padding(to: widths[column])
      }.joined(separator: "  ")
    }
  }
}
