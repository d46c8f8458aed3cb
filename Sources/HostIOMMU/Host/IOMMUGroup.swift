// hiodctl — IOMMU groups: the unit of isolation VFIO assigns as a whole.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// A device in an IOMMU group (usually a PCI function; groups may hold other devices).
package struct GroupMember: Hashable, Sendable {
  /// The device name in `/sys/kernel/iommu_groups/N/devices/` (`0000:00:02.0`).
  package var name: String
  package var driver: String?

  package init(name: String, driver: String?) {
    self.name = name
    self.driver = driver
  }

  package var role: DriverRole { DriverRole(driver: driver) }
}

/// An IOMMU group, `/sys/kernel/iommu_groups/<id>/`.
package struct IOMMUGroup: Hashable, Sendable {
  package var id: Int
  /// The default domain type (`DMA`, `DMA-FQ`, `identity`, `blocked`…), kernel ≥ 5.11.
  package var type: String?
  /// The optional `name` attribute (`vfio-noiommu` for VFIO's fake no-IOMMU groups).
  package var name: String?
  /// A group VFIO made up in unsafe no-IOMMU mode (`/dev/vfio/noiommu-N`): no isolation,
  /// and QEMU cannot use it.
  package var isNoIOMMU: Bool
  package var members: [GroupMember]
  package var reservedRegions: [ReservedRegion]
  /// `/dev/vfio/N` (or `/dev/vfio/noiommu-N`) when it exists or a member is VFIO-bound.
  package var vfioNode: DeviceNode?

  package init(
    id: Int, type: String? = nil, name: String? = nil, isNoIOMMU: Bool = false,
    members: [GroupMember] = [], reservedRegions: [ReservedRegion] = [],
    vfioNode: DeviceNode? = nil
  ) {
    self.id = id
    self.type = type
    self.name = name
    self.isNoIOMMU = isNoIOMMU
    self.members = members
    self.reservedRegions = reservedRegions
    self.vfioNode = vfioNode
  }

  /// The members that keep the group from being viable: bound to a host driver that
  /// does its own DMA. QEMU then fails with "group N is not viable".
  package var blockers: [GroupMember] { members.filter { $0.role.blocksViability } }

  /// Whether VFIO can use the group: every member on a VFIO driver, a DMA-free driver
  /// (pci-stub, pcieport) or none.
  package var isViable: Bool { !members.contains { $0.role.blocksViability } }

  /// The host path of the group's VFIO node.
  package var vfioNodePath: String {
    isNoIOMMU ? "/dev/vfio/noiommu-\(id)" : "/dev/vfio/\(id)"
  }
}

extension IOMMUGroup {
  /// Reads `/sys/kernel/iommu_groups/<id>`. Drivers of PCI members come from the
  /// enumeration already done (`knownDrivers`); other members are read from sysfs.
  /// Without `readsType` the domain type stays nil (text `list` does not show it).
  static func read(
    id: Int, from root: SystemRoot, knownDrivers: [String: String?],
    nodes: DeviceNodeIndex, readsType: Bool = true, warnings: inout [String]
  ) -> IOMMUGroup {
    let base = "/sys/kernel/iommu_groups/\(id)"
    var group = IOMMUGroup(id: id)
    let directory: OpenDirectory
    do {
      directory = try root.openDirectory(base)
    } catch {
      warnings.append("\(base): \(error.description)")
      return group
    }
    if readsType {
      group.type = directory.readText("type").ok.map { String($0.trimmingWhitespace()) }
    }
    group.name = directory.readText("name").ok.map { String($0.trimmingWhitespace()) }

    switch directory.directoryEntries("devices") {
    case .success(let names):
      for name in names.sorted(by: memberOrder) {
        if let known = knownDrivers[name] {
          group.members.append(GroupMember(name: name, driver: known))
        } else if directory.exists("devices/\(name)") {
          // Not a PCI function libpci listed (another bus, or a device it skipped).
          let driver = directory.readLinkBasename("devices/\(name)/driver").ok
          group.members.append(GroupMember(name: name, driver: driver))
        } else {
          warnings.append("\(base)/devices/\(name): the group lists a device that does not exist; ignored")
        }
      }
    case .failure(let errno):
      warnings.append("\(base)/devices: \(errno.description)")
    }

    switch directory.readText("reserved_regions") {
    case .success(let text):
      let parsed = ReservedRegion.parseFile(text)
      group.reservedRegions = parsed.regions
      warnings += parsed.problems.map { "\(base)/reserved_regions: \($0)" }
    case .failure(.noSuchFileOrDirectory):
      break  // kernels before 4.11
    case .failure(let errno):
      warnings.append("\(base)/reserved_regions: \(errno.description)")
    }

    group.isNoIOMMU = group.name == "vfio-noiommu" || nodes.exists("/dev/vfio/noiommu-\(id)")
    let nodePath = group.vfioNodePath
    let present = nodes.exists(nodePath)
    if present || group.members.contains(where: { $0.role == .vfio }) {
      group.vfioNode = DeviceNode(path: nodePath, present: present)
    }
    return group
  }

  /// PCI addresses in numeric order (so `0000:00:1f.0` sorts after `0000:00:02.0`
  /// regardless of digit case), other names after them.
  private static func memberOrder(_ lhs: String, _ rhs: String) -> Bool {
    switch (PCIAddress(lhs), PCIAddress(rhs)) {
    case (let l?, let r?): l < r
    case (.some, .none): true
    case (.none, .some): false
    case (.none, .none): lhs < rhs
    }
  }
}
