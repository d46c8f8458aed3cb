// hiodctl — what else the host's readiness depends on, read from the system tree: the
// kernel command line, the VFIO modules, a hypervisor, ACS on the ports above the
// VFIO-bound devices, and which devices the host itself is using.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// The modules device assignment needs, as /sys/module names them.
package enum VFIOModule: String, Sendable, CaseIterable, Hashable {
  case vfio
  case vfioPCI = "vfio_pci"
  case vfioIOMMUType1 = "vfio_iommu_type1"
  case iommufd

  /// How people (and modprobe) spell it.
  package var displayName: String { self == .vfioPCI ? "vfio-pci" : rawValue }
}

/// An upstream port's Access Control Services, as its config space shows them.
package struct PortACS: Hashable, Sendable {
  package enum PortType: String, Sendable, Hashable, CaseIterable {
    case rootPort = "root-port"
    case downstreamPort = "downstream-port"
    case upstreamPort = "upstream-port"
    /// A PCIe-to-PCI(-X) bridge or a conventional PCI bridge: the devices behind it
    /// cannot be told apart by the IOMMU, ACS or not.
    case pciBridge = "pci-bridge"
    case other
    /// The config space readable here does not reach the PCI Express capability.
    case unknown
  }

  package enum State: String, Sendable, Hashable, CaseIterable {
    /// The ACS capability with every control Linux requires (SV, RR, CR, UF, where the
    /// port implements them) enabled.
    case enabled
    /// The capability is there, but not every required control is on.
    case disabled
    /// The port has no ACS capability.
    case absent
    /// ACS does not apply to this kind of port.
    case notApplicable = "not-applicable"
    /// The extended config space is not readable (it needs root), or not captured.
    case unknown
  }

  package var port: PCIAddress
  package var type: PortType
  package var state: State
  /// The controls enabled (`SV`, `RR`, `CR`, `UF`…), when the capability was read.
  package var enabled: [String]
  /// The controls Linux requires that are off.
  package var missing: [String]
  /// The VFIO-bound devices below the port.
  package var devices: [PCIAddress]

  package init(
    port: PCIAddress, type: PortType, state: State, enabled: [String] = [], missing: [String] = [],
    devices: [PCIAddress] = []
  ) {
    self.port = port
    self.type = type
    self.state = state
    self.enabled = enabled
    self.missing = missing
    self.devices = devices
  }
}

/// A PCI device the host itself is using: rebinding it to vfio-pci takes that away.
package struct DeviceUse: Hashable, Sendable {
  package var device: PCIAddress
  /// `controls /dev/sda1, mounted on /`, `carries the default route (eth0)`.
  package var use: String

  package init(device: PCIAddress, use: String) {
    self.device = device
    self.use = use
  }
}

extension HostFacts {
  /// Reads the facts `hiodctl host` needs beyond the IOMMU units and nodes.
  static func readEnvironment(
    into facts: inout HostFacts, root: SystemRoot, devices: [PCIDevice]
  ) {
    facts.kernelCommandLine = root.readText("/proc/cmdline").ok.map { String($0.trimmingWhitespace()) }
    facts.kernelRelease = root.readText("/proc/sys/kernel/osrelease").ok.map { String($0.trimmingWhitespace()) }
    facts.modules = readModules(root, devices: devices)
    facts.noIOMMUMode = readBool(root, "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")
    facts.hypervisor = readHypervisor(root)
    facts.upstreamPorts = readUpstreamPorts(root, devices: devices)
    facts.devicesInUse = readDevicesInUse(root, devices: devices)
  }

  static func readBool(_ root: SystemRoot, _ path: String) -> Bool? {
    guard let text = root.readText(path).ok else { return nil }
    switch text.trimmingWhitespace() {
    case "Y", "y", "1": return true
    case "N", "n", "0": return false
    default: return nil
    }
  }

  /// Which VFIO modules are loaded (or built in): /sys/module/NAME, or for vfio-pci its
  /// driver directory or a device bound to it. nil when the tree has no /sys/module.
  static func readModules(_ root: SystemRoot, devices: [PCIDevice]) -> [String: Bool]? {
    guard root.exists("/sys/module") else { return nil }
    var loaded: [String: Bool] = [:]
    for module in VFIOModule.allCases {
      var present = root.exists("/sys/module/\(module.rawValue)")
      switch module {
      case .vfioPCI:
        present =
          present || root.exists("/sys/bus/pci/drivers/vfio-pci")
          || devices.contains { $0.driver == "vfio-pci" }
      case .vfio:
        // Whatever needs vfio shows it is there: its container node, a VFIO driver.
        present =
          present || root.exists("/dev/vfio/vfio") || root.exists("/sys/bus/pci/drivers/vfio-pci")
          || devices.contains(where: \.isVFIOBound)
      case .vfioIOMMUType1, .iommufd:
        break
      }
      loaded[module.rawValue] = present
    }
    return loaded
  }

  /// The hypervisor this host runs under, if it says: DMI's vendor and product, Xen's
  /// /sys/hypervisor, or the CPU's `hypervisor` flag. nil: bare metal, or nothing tells.
  static func readHypervisor(_ root: SystemRoot) -> String? {
    func read(_ path: String) -> String? {
      root.readText(path, limit: 4096).ok.map { String($0.trimmingWhitespace()) }.flatMap { $0.isEmpty ? nil : $0 }
    }
    let vendor = read("/sys/class/dmi/id/sys_vendor")
    let product = read("/sys/class/dmi/id/product_name")
    let virtualVendors = [
      "QEMU", "KVM", "VMware", "Microsoft Corporation", "Xen", "innotek", "Parallels", "Amazon EC2", "Google",
      "OpenStack", "BHYVE",
    ]
    if let vendor,
      virtualVendors.contains(where: { vendor.hasPrefix($0) }) || product == "KVM" || product == "Virtual Machine"
    {
      return [vendor, product].compactMap { $0 }.joined(separator: " ")
    }
    if let type = read("/sys/hypervisor/type") { return type }
    if case .success(let bytes) = root.readPrefix("/proc/cpuinfo", maxBytes: 16 << 10) {
      let text = String(decoding: bytes, as: UTF8.self)
      for line in text.split(separator: "\n") where line.hasPrefix("flags") {
        if line.split(separator: " ").contains("hypervisor") { return "the CPU reports a hypervisor" }
        break
      }
    }
    return nil
  }

  // MARK: ACS

  /// The ports above each VFIO-bound device (from its sysfs path), with their ACS.
  static func readUpstreamPorts(_ root: SystemRoot, devices: [PCIDevice]) -> [PortACS] {
    var ports: [PCIAddress: PortACS] = [:]
    var order: [PCIAddress] = []
    // Each device's link is read on the scan's threads; the ports are then taken in
    // device order, as one thread would.
    let chains = Parallel.map(devices.filter(\.isVFIOBound), minimumChunk: 64) { chunk in
      chunk.map { device -> (PCIAddress, [PCIAddress])? in
        guard case .success(let target) = root.readLink("/sys/bus/pci/devices/\(device.address)") else { return nil }
        return (device.address, pathAddresses(target))
      }
    }
    for case (let address, let chain)? in chains {
      for port in chain.dropLast() {
        if ports[port] == nil {
          ports[port] = readACS(root, port: port)
          order.append(port)
        }
        ports[port]?.devices.append(address)
      }
    }
    return order.compactMap { ports[$0] }
  }

  /// The PCI addresses among the components of a link target, in order. A kernel's
  /// target is ASCII, and is split on bytes (a Character-wise split cost more than the
  /// readlink); anything else, which only a made-up tree holds, is split Character-wise
  /// as before, where a `/` followed by a combining mark is not a separator.
  private static func pathAddresses(_ target: String) -> [PCIAddress] {
    guard target.utf8.allSatisfy({ $0 < 0x80 }) else {
      return target.split(separator: "/").compactMap { PCIAddress($0) }
    }
    return target.utf8.split(separator: UInt8(ascii: "/")).compactMap { PCIAddress(Substring($0)) }
  }

  /// The ACS of `port` from its config space (the extended capabilities need the whole
  /// 4 KiB, which only root may read on a live host).
  static func readACS(_ root: SystemRoot, port: PCIAddress) -> PortACS {
    guard case .success(let config) = root.readBytes("/sys/bus/pci/devices/\(port)/config", limit: 4096) else {
      return PortACS(port: port, type: .unknown, state: .unknown)
    }
    func word(_ offset: Int) -> UInt16 {
      offset + 1 < config.count ? UInt16(config[offset]) | UInt16(config[offset + 1]) << 8 : 0
    }
    func dword(_ offset: Int) -> UInt32 {
      offset + 3 < config.count ? UInt32(word(offset)) | UInt32(word(offset + 2)) << 16 : 0
    }
    guard config.count >= 64 else { return PortACS(port: port, type: .unknown, state: .unknown) }
    let headerType = config[0x0E] & 0x7F
    // The PCI Express capability, in the standard list (which needs 256 bytes).
    var type = PortACS.PortType.unknown
    if config.count >= 256, word(0x06) & 0x10 != 0 {
      var pointer = Int(config[0x34] & 0xFC)
      var steps = 0
      type = headerType == 1 ? .pciBridge : .other
      while pointer >= 0x40, pointer + 3 < 256, steps < 48 {
        if config[pointer] == 0x10 {
          switch (word(pointer + 2) >> 4) & 0xF {
          case 4: type = .rootPort
          case 5: type = .upstreamPort
          case 6: type = .downstreamPort
          case 7, 8: type = .pciBridge
          default: type = .other
          }
          break
        }
        pointer = Int(config[pointer + 1] & 0xFC)
        steps += 1
      }
    } else if config.count >= 256 {
      type = headerType == 1 ? .pciBridge : .other
    }
    switch type {
    case .pciBridge, .upstreamPort, .other:
      return PortACS(port: port, type: type, state: .notApplicable)
    case .unknown:
      return PortACS(port: port, type: type, state: .unknown)
    case .rootPort, .downstreamPort:
      break
    }
    guard config.count >= 4096 else { return PortACS(port: port, type: type, state: .unknown) }
    var offset = 0x100
    var steps = 0
    while offset >= 0x100, offset + 7 < config.count, steps < 512 {
      let header = dword(offset)
      if header == 0 || header == 0xFFFF_FFFF { break }
      if header & 0xFFFF == 0x000D {
        let capability = word(offset + 4)
        let control = word(offset + 6)
        let names = ["SV", "TB", "RR", "CR", "UF", "EC", "DT"]
        let enabled = names.indices.filter { control & (1 << $0) != 0 }.map { names[$0] }
        // Linux's pci_acs_flags_enabled: SV, RR, CR and UF, except those the port does
        // not implement (hard-wired on).
        let required: [Int] = [0, 2, 3, 4].filter { capability & (1 << $0) != 0 }
        let missing = required.filter { control & (1 << $0) == 0 }.map { names[$0] }
        return PortACS(
          port: port, type: type, state: missing.isEmpty ? .enabled : .disabled, enabled: enabled, missing: missing)
      }
      offset = Int((header >> 20) & 0xFFC)
      steps += 1
    }
    return PortACS(port: port, type: type, state: .absent)
  }

  // MARK: Devices the host uses

  /// The PCI devices behind mounted block devices and the default route's interfaces.
  /// nil when neither /proc/self/mountinfo nor /proc/net/route can be read.
  static func readDevicesInUse(_ root: SystemRoot, devices: [PCIDevice]) -> [DeviceUse]? {
    let known = Set(devices.map(\.address))
    var uses: [DeviceUse] = []
    var seen: Set<PCIAddress> = []
    func add(_ address: PCIAddress, _ use: String) {
      guard known.contains(address), seen.insert(address).inserted else { return }
      uses.append(DeviceUse(device: address, use: use))
    }
    var readAnything = false
    if case .success(let text) = root.readText("/proc/self/mountinfo", limit: 4 << 20) {
      readAnything = true
      for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count >= 5, let dash = fields.firstIndex(of: "-"), dash + 2 < fields.count else { continue }
        let majorMinor = fields[2]
        let mountPoint = fields[4]
        let source = fields[dash + 2]
        var block: String?
        if !majorMinor.hasPrefix("0:") { block = "/sys/dev/block/\(majorMinor)" }
        if block == nil, source.hasPrefix("/dev/") {
          let name = source.split(separator: "/").last.map(String.init) ?? ""
          if root.exists("/sys/class/block/\(name)") { block = "/sys/class/block/\(name)" }
        }
        guard let block else { continue }
        for address in pciFunctions(behindBlock: block, root: root, depth: 0) {
          add(address, "controls \(source), mounted on \(mountPoint)")
        }
      }
    }
    var interfaces: [String] = []
    if case .success(let text) = root.readText("/proc/net/route", limit: 1 << 20) {
      readAnything = true
      for line in text.split(separator: "\n").dropFirst() {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000" { interfaces.append(String(fields[0])) }
      }
    }
    if case .success(let text) = root.readText("/proc/net/ipv6_route", limit: 1 << 20) {
      readAnything = true
      for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count >= 10, fields[0].allSatisfy({ $0 == "0" }), fields[1] == "00", fields[9] != "lo" {
          interfaces.append(String(fields[9]))
        }
      }
    }
    for interface in Set(interfaces).sorted() {
      for address in pciFunctions(behindInterface: interface, root: root, depth: 0) {
        add(address, "carries the default route (\(interface))")
      }
    }
    return readAnything ? uses : nil
  }

  /// The PCI functions a block device (or partition, or device-mapper/md device over
  /// others) sits on: the last PCI address in its sysfs path, through `slaves/`.
  static func pciFunctions(behindBlock path: String, root: SystemRoot, depth: Int) -> [PCIAddress] {
    guard depth < 5, case .success(let target) = root.readLink(path) else { return [] }
    if let last = target.split(separator: "/").compactMap({ PCIAddress($0) }).last { return [last] }
    // A virtual block device (device-mapper, md): the devices it is stacked on.
    let name = target.split(separator: "/").last.map(String.init) ?? ""
    guard case .success(let slaves) = root.directoryEntries("/sys/class/block/\(name)/slaves") else { return [] }
    return slaves.sorted().flatMap { pciFunctions(behindBlock: "/sys/class/block/\($0)", root: root, depth: depth + 1) }
  }

  /// The PCI function a network interface is on, through the lower devices of bonds,
  /// bridges and VLANs.
  static func pciFunctions(behindInterface name: String, root: SystemRoot, depth: Int) -> [PCIAddress] {
    guard depth < 5, !name.contains("/") else { return [] }
    let base = "/sys/class/net/\(name)"
    if case .success(let target) = root.readLink(base + "/device"),
      let address = target.split(separator: "/").compactMap({ PCIAddress($0) }).last
    {
      return [address]
    }
    guard case .success(let entries) = root.directoryEntries(base) else { return [] }
    var lower = entries.filter { $0.hasPrefix("lower_") }.map { String($0.dropFirst(6)) }
    if lower.isEmpty, case .success(let ports) = root.directoryEntries(base + "/brif") { lower = ports }
    return lower.sorted().flatMap { pciFunctions(behindInterface: $0, root: root, depth: depth + 1) }
  }
}
