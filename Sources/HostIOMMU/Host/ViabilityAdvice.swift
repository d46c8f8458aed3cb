// hiodctl — what to do about a group that is not viable, in the words list, caps and
// check share (issue 12): never offer a bridge, or a device the host is using, for
// rebinding without saying what that costs.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The advice for one non-viable IOMMU group.
package struct ViabilityAdvice: Hashable, Sendable {
  package let group: Int
  /// The member to name in `driverctl set-override … vfio-pci`; nil when every blocker
  /// is a bridge (rebinding one would take it from the host, and would not be enough).
  package let rebind: String?
  /// Blockers that are bridges: the host needs them, so the group cannot be made viable.
  package let bridges: [String]
  /// One sentence per blocker that must not be rebound lightly (a bridge, a device in use).
  package let cautions: [String]
  /// The group has blockers at all (a group the kernel says is not viable may list none).
  private let blocked: Bool

  /// `device` finds the PCI device of a member by name (its class tells a bridge);
  /// `uses` are what the host uses its devices for (`HostFacts.devicesInUse`).
  package init(_ group: IOMMUGroup, device: (String) -> PCIDevice?, uses: [DeviceUse]) {
    self.group = group.id
    var rebindable: [GroupMember] = []
    var bridges: [String] = []
    var cautions: [String] = []
    for blocker in group.blockers {
      let use = uses.first { $0.device.description == blocker.name }
      if let device = device(blocker.name), device.identity.classCode >> 8 == 0x06 {
        let kind = device.names.deviceClass ?? "bridge (class \(device.identity.classCode.hex(width: 4)))"
        let article = kind.first.map { "aeiouAEIOU".contains($0) } == true ? "an" : "a"
        bridges.append(blocker.name)
        cautions.append(
          "\(blocker.name) is \(article) \(kind) (\(blocker.driver ?? "?")): "
            + "the host needs it; do not rebind it, but assign devices from a slot whose IOMMU group holds no bridge")
      } else if let use {
        cautions.append("\(blocker.name) \(use.use): rebinding it to vfio-pci takes that away from the host")
        rebindable.append(blocker)
      } else {
        rebindable.append(blocker)
      }
    }
    // Name a device the host does not use, else one whose use the cautions say.
    let unused = rebindable.first { member in !uses.contains { $0.device.description == member.name } }
    rebind = (unused ?? rebindable.first)?.name
    self.bridges = bridges
    self.cautions = cautions
    blocked = !group.blockers.isEmpty
  }

  /// The hints, in order: how to make the group viable (when rebinding can), then the
  /// cautions.
  package var hints: [String] {
    var hints: [String] = []
    if let rebind {
      hints.append(
        "bind every device of group \(group) to vfio-pci or unbind it, e.g. driverctl set-override \(rebind) vfio-pci")
    } else if !blocked {
      hints.append("bind every device of group \(group) to vfio-pci or unbind it")
    }
    return hints + cautions
  }

  /// The remedy's one-line summary (check's `fix:`).
  package var summary: String {
    bridges.isEmpty
      ? "bind every device of group \(group) to vfio-pci (or leave it unbound)"
      : "group \(group) holds a bridge the host needs: assign a device whose IOMMU group holds none"
  }
}

extension HostInventory {
  /// The advice for `group`, from this host's devices and what it uses them for.
  package func viabilityAdvice(for group: IOMMUGroup) -> ViabilityAdvice {
    let members = devices.filter { $0.iommuGroup == group.id }
    return ViabilityAdvice(
      group, device: { name in members.first { $0.address.description == name } }, uses: facts.devicesInUse ?? [])
  }
}

extension HostInventory {
  /// The check inputs for `realizations` of this host's devices, each with its group and
  /// the group's devices (the advice on a group that is not viable needs their classes).
  package func checkInputs(_ realizations: [DeviceRealization]) -> [DeviceCheckInput] {
    let byGroup = Dictionary(grouping: devices.filter { $0.iommuGroup != nil }, by: { $0.iommuGroup ?? -1 })
    return realizations.map { realization in
      let id = realization.device.iommuGroup
      return DeviceCheckInput(
        device: realization.device, realization: realization, group: group(id),
        groupDevices: id.flatMap { byGroup[$0] } ?? [])
    }
  }
}
