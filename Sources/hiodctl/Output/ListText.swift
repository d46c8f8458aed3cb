// hiodctl list — the table for people (scripts use --json).
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ListText {
  /// `host` is what is listed; `whole` the host it was selected from (blockers of a
  /// group may be outside the selection); `filtered`: -s, -d or --vfio chose devices.
  static func render(_ host: HostInventory, whole: HostInventory? = nil, filtered: Bool = false, numeric: Bool)
    -> String
  {
    let whole = whole ?? host
    var lines = hostSummary(host)
    lines.append("")
    var table = TextTable(headers: ["BDF", "GROUP", "DRIVER", "VFIO", "CDEV", "VIABLE", "DEVICE"])
    // SR-IOV hosts list thousands of functions of a few models: each description is
    // made once per identity, and reused while the names are the same bytes (String's
    // == is canonical equivalence; a snapshot may spell one name two ways).
    var descriptions: [PCIIdentity: (names: PCINames, text: String)] = [:]
    for device in host.devices {
      let group = host.group(device.iommuGroup)
      let description: String
      if let known = descriptions[device.identity], known.names.sameBytes(as: device.names) {
        description = known.text
      } else {
        description = describe(device, numeric: numeric)
        descriptions[device.identity] = (device.names, description)
      }
      table.append([
        device.address.description,
        device.iommuGroup.map(String.init) ?? "-",
        device.driver ?? "-",
        device.isVFIOBound ? (group?.vfioNode.map(nodeText) ?? "-") : "-",
        device.vfioCdev.map { $0.node.present ? $0.name : "\($0.name) (missing)" } ?? "-",
        group.map { $0.isViable ? "yes" : "no" } ?? "-",
        description,
      ])
    }
    lines += table.lines()
    // QEMU trips only on the groups of the devices it is given: explain those (or all
    // the selected ones), and count the rest in one line.
    let nonViable = host.groups.filter { !$0.isViable }
    let explained = nonViable.filter { group in
      filtered || group.members.contains { $0.role == .vfio }
    }
    for group in explained {
      lines.append("")
      lines += viabilityExplanation(group, in: whole)
    }
    let others = nonViable.count - explained.count
    if others > 0 {
      let ids = nonViable.filter { group in !explained.contains { $0.id == group.id } }.map { String($0.id) }
      let shown = ids.prefix(8).joined(separator: ", ") + (ids.count > 8 ? ", …" : "")
      lines.append("")
      lines.append(
        "\(others) \(explained.isEmpty ? "" : "more ")group\(others == 1 ? " is" : "s are") not viable, "
          + """
          none with a device bound to a VFIO driver (QEMU only minds those): \
          \(others == 1 ? "group" : "groups") \(shown)
          """
      )
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
    // The words of `hiodctl host`: its WARN and FAIL lines and their fixes.
    for diagnosis in host.diagnoses {
      lines.append("\(HostText.word(diagnosis.severity))  \(diagnosis.message)")
      if let hint = diagnosis.hint { lines.append("  fix: \(hint)") }
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

  /// Why QEMU would say "group N is not viable", and what to do: the advice caps and
  /// check give too (`ViabilityAdvice`).
  static func viabilityExplanation(_ group: IOMMUGroup, in host: HostInventory) -> [String] {
    let blockers = group.blockers.map { "\($0.name) is bound to \($0.driver ?? "?")" }
    return ["group \(group.id) is not viable: \(blockers.joined(separator: "; "))"]
      + host.viabilityAdvice(for: group).hints.map { "  hint: \($0)" }
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
    // Each cell's width is counted once; a line is built as UTF-8 bytes, padding and
    // all, and becomes a String once (a list of thousands of functions spent most of
    // its rendering on String appends).
    let cellWidths = all.map { $0.map(\.displayWidth) }
    var widths = [Int](repeating: 0, count: headers.count)
    for row in cellWidths {
      for (column, width) in row.enumerated() { widths[column] = max(widths[column], width) }
    }
    var line: [UInt8] = []
    line.reserveCapacity(widths.reduce(0, +) + 2 * widths.count + 64)
    return zip(all, cellWidths).map { row, rowWidths in
      line.removeAll(keepingCapacity: true)
      for (column, cell) in row.enumerated() {
        line.append(contentsOf: cell.utf8)
        if column < row.count - 1 {
          line.append(contentsOf: repeatElement(0x20, count: widths[column] - rowWidths[column] + 2))
        }
      }
      return String(decoding: line, as: UTF8.self)
    }
  }
}

extension PCINames {
  /// The same names byte for byte (not merely canonically equivalent).
  fileprivate func sameBytes(as other: PCINames) -> Bool {
    func same(_ lhs: String?, _ rhs: String?) -> Bool {
      switch (lhs, rhs) {
      case (nil, nil): true
      case (let lhs?, let rhs?): lhs.utf8.elementsEqual(rhs.utf8)
      default: false
      }
    }
    return same(vendor, other.vendor) && same(device, other.device) && same(deviceClass, other.deviceClass)
      && same(subsystemVendor, other.subsystemVendor) && same(subsystemDevice, other.subsystemDevice)
  }
}
