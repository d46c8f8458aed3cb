// hiodctl — one read-only pass over the host: PCI devices, IOMMU groups, host facts.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// Everything `hiodctl list` knows about a host, gathered in one pass.
package struct HostInventory: Sendable {
  /// The system root this was read from (`/` for the live host).
  package let sysroot: String
  package internal(set) var facts: HostFacts
  /// In PCI address order.
  package let devices: [PCIDevice]
  /// In group-number order.
  package let groups: [IOMMUGroup]
  package let diagnoses: [Diagnosis]
  /// Things that could not be read or parsed; the rest of the answer still stands.
  package let warnings: [String]
  /// Position of each group in `groups`, so per-device lookups stay O(1) on hosts with
  /// thousands of groups (one per SR-IOV VF).
  private let groupIndex: [Int: Int]

  package init(
    sysroot: String, facts: HostFacts, devices: [PCIDevice], groups: [IOMMUGroup],
    diagnoses: [Diagnosis], warnings: [String]
  ) {
    self.sysroot = sysroot
    self.facts = facts
    self.devices = devices.sorted { $0.address < $1.address }
    self.groups = groups.sorted { $0.id < $1.id }
    self.diagnoses = diagnoses
    self.warnings = warnings
    self.groupIndex = Dictionary(
      self.groups.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
  }

  /// How the scan should go.
  package struct Options: Sendable {
    /// Look device, vendor and class names up (pci.ids / hwdb); off for `--numeric`.
    package var resolveNames: Bool
    package var scope: Scope

    package init(resolveNames: Bool = true, scope: Scope = .complete) {
      self.resolveNames = resolveNames
      self.scope = scope
    }
  }

  /// How much of each device and group the scan reads.
  package enum Scope: Sendable {
    /// Everything the contract documents carry.
    case complete
    /// What the text `list` table and its header show, and the checks behind them: not
    /// the subsystem IDs (two sysfs files a function, and config space when they are
    /// missing), a group's domain `type`, or a cdev's device number
    /// (`vfio-dev/vfioM/dev`), which only the JSON documents carry. Those fields stay
    /// nil, and what libpci would have warned about reading the subsystem IDs (a
    /// damaged `subsystem_vendor`, an unreadable config fallback) is not said: the
    /// table does not show them, and `--json list` still reads and warns. On a 4096-function
    /// tree this is 174,133 → 125,200 system calls (`strace -c`, one thread).
    case listing
  }

  /// Reads the host under `root`. Throws only when there is no PCI bus to enumerate;
  /// everything else that cannot be read becomes a warning and the scan carries on.
  package static func scan(_ root: SystemRoot, options: Options = Options()) throws(HIODError)
    -> HostInventory
  {
    var warnings: [String] = []

    // Check the PCI tree ourselves: libpci would only say "Cannot open …", or stop at
    // an entry it cannot parse without saying what to do about it.
    switch root.directoryEntries("/sys/bus/pci/devices") {
    case .success(let names):
      // libpci skips names starting with a dot, and so does this check.
      if let odd = names.filter({ !$0.hasPrefix(".") && PCIAddress($0) == nil }).min() {
        throw .notAPCIAddressEntry(odd, in: root.resolve("/sys/bus/pci/devices"))
      }
    case .failure(.permissionDenied):
      break  // libpci says it better, with the path
    case .failure(let errno):
      throw .noPCIBus(root.resolve("/sys/bus/pci/devices"), sysroot: root.path, errno)
    }
    var access = try PCIAccess(
      root: root, names: options.resolveNames ? .forRoot(root) : nil,
      readsSubsystem: options.scope == .complete)
    let found = try access.devices()
    warnings += access.warnings

    let nodes = DeviceNodeIndex(root: root, directories: ["/dev/vfio", "/dev/vfio/devices"])
    // One device's links and cdev, then one group's files, are independent reads: they
    // run on several threads and come back in order (Support/Parallel.swift).
    let devices = Parallel.map(found, minimumChunk: 64, warnings: &warnings) { record, warnings in
      completeDevice(record, root: root, nodes: nodes, scope: options.scope, warnings: &warnings)
    }

    var knownDrivers: [String: String?] = [:]
    for device in devices { knownDrivers[device.address.description] = .some(device.driver) }
    var groups: [IOMMUGroup] = []
    var groupsListed = true
    var groupsError: Errno?
    switch root.directoryEntries("/sys/kernel/iommu_groups") {
    case .success(let names):
      var ids: [Int] = []
      for name in names {
        if let id = Int(name), id >= 0 {
          ids.append(id)
        } else {
          warnings.append("/sys/kernel/iommu_groups/\(name): not a group number; ignored")
        }
      }
      groups = Parallel.map(ids.sorted(), minimumChunk: 64, warnings: &warnings) { [knownDrivers] id, warnings in
        IOMMUGroup.read(
          id: id, from: root, knownDrivers: knownDrivers, nodes: nodes, readsType: options.scope == .complete,
          warnings: &warnings)
      }
    case .failure(.noSuchFileOrDirectory):
      break  // kernels without IOMMU support
    case .failure(let errno):
      warnings.append("/sys/kernel/iommu_groups: \(errno.description)")
      groupsListed = false
      groupsError = errno
    }

    // When the group directory itself could not be read, that one warning says it all.
    let groupIDs = Set(groups.map(\.id))
    for device in devices where groupsListed {
      if let group = device.iommuGroup, !groupIDs.contains(group) {
        warnings.append(
          "\(device.address): its iommu_group link names group \(group), which /sys/kernel/iommu_groups lacks")
      }
    }

    var facts = HostFacts.read(from: root, groupCount: groups.count, devices: devices, warnings: &warnings)
    facts.iommuGroupsError = groupsError?.description
    return HostInventory(
      sysroot: root.path, facts: facts, devices: devices, groups: groups,
      diagnoses: HostReadiness.evaluate(facts: facts, devices: devices, groups: groups).diagnoses, warnings: warnings)
  }

  /// Adds to what libpci found what only sysfs tells: driver, group, IOMMU unit and
  /// VFIO cdev, read relative to the device directory opened once.
  private static func completeDevice(
    _ record: LibPCIDevice, root: SystemRoot, nodes: DeviceNodeIndex, scope: Scope,
    warnings: inout [String]
  ) -> PCIDevice {
    var device = PCIDevice(
      address: record.address, identity: record.identity, names: record.names, driver: nil)
    let base = "/sys/bus/pci/devices/\(record.address)"
    let directory: OpenDirectory
    do {
      directory = try root.openDirectory(base)
    } catch {
      // Hot-unplugged between libpci's read and ours: what libpci read still stands.
      warnings.append("\(base): \(error.description)")
      return device
    }
    device.driver = directory.readLinkBasename("driver").ok
    if let groupName = directory.readLinkBasename("iommu_group").ok {
      if let id = Int(groupName), id >= 0 {
        device.iommuGroup = id
      } else {
        warnings.append("\(base)/iommu_group: '\(groupName)' is not a group number")
      }
      device.iommuUnit = directory.readLinkBasename("iommu").ok
    }
    // Only a VFIO driver creates vfio-dev/ (vfio_pci_core registers the cdev), so the
    // directory is not even looked for under host drivers or unbound devices.
    if DriverRole(driver: device.driver) == .vfio {
      device.vfioCdev = readCdev(directory, nodes: nodes, readsNumber: scope == .complete, warnings: &warnings)
    }
    return device
  }

  /// The `vfio-dev/vfioM` entry of a device (kernel ≥ 6.6, CONFIG_VFIO_DEVICE_CDEV).
  private static func readCdev(
    _ device: borrowing OpenDirectory, nodes: DeviceNodeIndex, readsNumber: Bool, warnings: inout [String]
  ) -> VFIOCdev? {
    guard case .success(let entries) = device.directoryEntries("vfio-dev") else {
      return nil
    }
    let names = entries.filter { $0.hasPrefix("vfio") && Int($0.dropFirst(4)) != nil }
    guard let name = names.sorted(by: naturalOrder).first else { return nil }
    if names.count > 1 {
      warnings.append(
        "\(device.absolute)/vfio-dev: several cdevs (\(names.joined(separator: ", "))); using \(name)")
    }
    let number =
      readsNumber
      ? device.readText("vfio-dev/\(name)/dev").ok.map { String($0.trimmingWhitespace()) } : nil
    let path = "/dev/vfio/devices/\(name)"
    return VFIOCdev(
      name: name, node: DeviceNode(path: path, present: nodes.exists(path)),
      deviceNumber: number)
  }

  /// The group with number `id`, if the host has it.
  package func group(_ id: Int?) -> IOMMUGroup? {
    guard let id, let position = groupIndex[id] else { return nil }
    return groups[position]
  }

  /// The same host restricted to the devices `keep` selects and the groups they are
  /// in; host facts, diagnoses and warnings stay whole.
  package func selecting(_ keep: (PCIDevice) -> Bool) -> HostInventory {
    let selected = devices.filter(keep)
    let groupIDs = Set(selected.compactMap(\.iommuGroup))
    return HostInventory(
      sysroot: sysroot, facts: facts, devices: selected,
      groups: groups.filter { groupIDs.contains($0.id) }, diagnoses: diagnoses,
      warnings: warnings)
  }
}
