// hiodctl — the VM QEMU is asked to start: machine, vIOMMU, iommufd objects and the
// assigned devices in command-line order, with the option text QEMU prints before each of
// its errors. Built from hiodctl's flags (a canonical command line), from a QEMU command
// line, or from a libvirt domain.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A guest PCI slot and function as QEMU's `addr=` spells it (`3`, `03.0`, `0x3.1`).
package struct GuestSlot: Hashable, Sendable, Comparable, CustomStringConvertible {
  package var slot: UInt8
  package var function: UInt8

  package init(slot: UInt8, function: UInt8 = 0) {
    self.slot = slot & 0x1f
    self.function = function & 0x7
  }

  /// Parses QEMU's `addr=` value: `SLOT[.FN]`, hex, optional `0x`.
  package init?(qemu text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count) else { return nil }
    func hex(_ part: Substring) -> UInt8? {
      let digits = part.hasPrefix("0x") || part.hasPrefix("0X") ? part.dropFirst(2) : part
      guard !digits.isEmpty, digits.count <= 2 else { return nil }
      return UInt8(digits, radix: 16)
    }
    guard let slot = hex(parts[0]), slot < 32 else { return nil }
    var function: UInt8 = 0
    if parts.count == 2 {
      guard let value = hex(parts[1]), value < 8 else { return nil }
      function = value
    }
    self.init(slot: slot, function: function)
  }

  package var devfn: UInt8 { slot << 3 | function }

  /// `03.0`.
  package var description: String { "\(slot.hex(width: 2)).\(function)" }

  package static func < (lhs: GuestSlot, rhs: GuestSlot) -> Bool { lhs.devfn < rhs.devfn }
}

/// What a guest bus is, for the topology checks: devices behind a conventional PCI bridge
/// (or a PCIe-to-PCI bridge) issue DMA with the bridge's requester ID.
package enum GuestBusKind: String, Hashable, Sendable {
  /// The root complex (`pcie.0` on q35, `pci.0` on i440fx).
  case root
  /// `pcie-root-port` (or another PCIe port): the device keeps its own requester ID.
  case pcieRootPort = "pcie-root-port"
  /// `pcie-pci-bridge`: everything behind it aliases to the bridge.
  case pciePCIBridge = "pcie-pci-bridge"
  /// `pci-bridge`: a conventional PCI bridge, aliasing like the PCIe-to-PCI one.
  case pciBridge = "pci-bridge"

  /// Devices behind this bus share one requester ID (the bridge's).
  var aliases: Bool { self == .pciePCIBridge || self == .pciBridge }
}

/// A bus controller of the guest (`-device pcie-root-port,id=rp1,bus=pcie.0,addr=04.0`).
package struct GuestController: Hashable, Sendable {
  /// The `id=` other devices name in `bus=`.
  package var id: String
  package var kind: GuestBusKind
  /// The bus it sits on (nil: the root bus).
  package var parent: String?
  /// Its own slot on the parent bus, when given.
  package var slot: GuestSlot?

  package init(id: String, kind: GuestBusKind, parent: String? = nil, slot: GuestSlot? = nil) {
    self.id = id
    self.kind = kind
    self.parent = parent
    self.slot = slot
  }
}

/// One `-device vfio-pci` of the VM.
package struct AssignedDevice: Hashable, Sendable {
  /// `host=` (or the basename of `sysfsdev=`).
  package var host: PCIAddress
  /// `iommufd=`: the id of the `-object iommufd` the device uses; nil: the legacy
  /// container.
  package var iommufd: String?
  /// `id=`.
  package var id: String?
  /// `bus=` (nil: the root bus).
  package var bus: String?
  /// `addr=`.
  package var slot: GuestSlot?
  /// The option as given, which QEMU prints before an error about the device
  /// (`-device vfio-pci,host=0000:3b:00.0,id=hostdev0`).
  package var optionText: String
  /// Added after the VM started (`device_add`; a libvirt hostdev marked for hot-plug).
  package var hotplug: Bool

  package init(
    host: PCIAddress, iommufd: String? = nil, id: String? = nil, bus: String? = nil, slot: GuestSlot? = nil,
    optionText: String? = nil, hotplug: Bool = false
  ) {
    self.host = host
    self.iommufd = iommufd
    self.id = id
    self.bus = bus
    self.slot = slot
    self.optionText =
      optionText
      ?? (["-device vfio-pci", "host=\(host)"] + (iommufd.map { ["iommufd=\($0)"] } ?? [])).joined(separator: ",")
    self.hotplug = hotplug
  }

  /// The backend QEMU uses for it: iommufd with `iommufd=`, else the legacy container.
  package var backend: HostIOMMUBackend { iommufd == nil ? .legacy : .iommufd }
}

/// Where the invocation came from.
package enum InvocationOrigin: String, Hashable, Sendable, CaseIterable {
  /// hiodctl's flags: the canonical command line hiodctl states.
  case flags
  /// A QEMU command line (`check -- ARGV`).
  case commandLine = "command-line"
  /// A libvirt domain (`check --domain`).
  case domain
}

/// The VM: what QEMU is asked to start.
package struct VMInvocation: Hashable, Sendable {
  package var origin: InvocationOrigin
  /// argv[0], when the input has one.
  package var program: String?
  /// The `-machine` option as given (`-machine q35,accel=kvm`), printed by QEMU before
  /// machine errors; nil when none was given.
  package var machineOptionText: String?
  /// The vIOMMU's `-device` option as given (nil: no vIOMMU, or the machine's own, such
  /// as `-machine virt,iommu=smmuv3`).
  package var viommuOptionText: String?
  /// The `-object iommufd` ids, with their option text.
  package var iommufdObjects: [(id: String, optionText: String)]
  /// The assigned devices, in command-line order.
  package var devices: [AssignedDevice]
  /// Bus controllers (root ports, bridges) the devices may sit behind.
  package var controllers: [GuestController]
  /// Guest RAM in MiB (`-m`; QEMU's default is 128).
  package var memoryMiB: UInt64
  /// `-nodefaults`: no default VGA or NIC occupying the first root-bus slots.
  package var noDefaults: Bool
  /// Other root-bus PCI devices, in command-line order, that take an automatic slot
  /// before or between the assigned devices (index in `devices` they precede).
  package var otherRootDevices: [(before: Int, slot: GuestSlot?)]
  /// Options that were read but play no part (named once in a note).
  package var ignored: [String]
  /// A second vIOMMU `-device` (QEMU refuses it), as given.
  package var extraVIOMMU: String?
  /// The answer is for one VM per device (`check --all`: a survey of the host), each with
  /// this command line and that device alone.
  package var perDevice = false

  package init(
    origin: InvocationOrigin, program: String? = nil, machineOptionText: String? = nil,
    viommuOptionText: String? = nil, iommufdObjects: [(id: String, optionText: String)] = [],
    devices: [AssignedDevice], controllers: [GuestController] = [], memoryMiB: UInt64 = 128,
    noDefaults: Bool = true, otherRootDevices: [(before: Int, slot: GuestSlot?)] = [], ignored: [String] = []
  ) {
    self.origin = origin
    self.program = program
    self.machineOptionText = machineOptionText
    self.viommuOptionText = viommuOptionText
    self.iommufdObjects = iommufdObjects
    self.devices = devices
    self.controllers = controllers
    self.memoryMiB = memoryMiB
    self.noDefaults = noDefaults
    self.otherRootDevices = otherRootDevices
    self.ignored = ignored
  }

  package static func == (lhs: VMInvocation, rhs: VMInvocation) -> Bool {
    lhs.origin == rhs.origin && lhs.program == rhs.program && lhs.machineOptionText == rhs.machineOptionText
      && lhs.viommuOptionText == rhs.viommuOptionText
      && lhs.iommufdObjects.map(\.id) == rhs.iommufdObjects.map(\.id) && lhs.devices == rhs.devices
      && lhs.controllers == rhs.controllers && lhs.memoryMiB == rhs.memoryMiB && lhs.noDefaults == rhs.noDefaults
  }

  package func hash(into hasher: inout Hasher) {
    hasher.combine(origin)
    hasher.combine(devices)
    hasher.combine(viommuOptionText)
  }

  /// The command line hiodctl's flags stand for: `qemu-system-x86_64 -M MACHINE
  /// -nodefaults -device <vIOMMU> [-object iommufd,id=iommufd0] -device vfio-pci,host=BDF…`
  /// with the devices in the order given.
  package static func canonical(
    configuration: VIOMMUConfiguration, devices: [PCIAddress], backend: HostIOMMUBackend
  ) -> VMInvocation {
    let objectID = "iommufd0"
    let iommufd = backend == .iommufd
    return VMInvocation(
      origin: .flags,
      machineOptionText: configuration.machine.map { "-machine \($0)" },
      viommuOptionText: configuration.model == .none ? nil : configuration.qemuDeviceOption,
      iommufdObjects: iommufd ? [(objectID, "-object iommufd,id=\(objectID)")] : [],
      devices: devices.map { AssignedDevice(host: $0, iommufd: iommufd ? objectID : nil) })
  }

  /// The command line as one string (for reports).
  package var commandLine: String {
    var parts = [program ?? "qemu-system-x86_64"]
    if let machineOptionText { parts.append(machineOptionText) }
    if noDefaults { parts.append("-nodefaults") }
    if let viommuOptionText { parts.append(viommuOptionText) }
    parts += iommufdObjects.map(\.optionText)
    parts += perDevice ? ["-device vfio-pci,host=BDF (one VM per device)"] : devices.map(\.optionText)
    return parts.joined(separator: " ")
  }

  // MARK: Guest placement

  /// Where each assigned device sits in the guest when QEMU realizes it: its bus number
  /// at that time (0: the firmware has not numbered the buses behind bridges yet), its
  /// slot (QEMU picks the first free one on the bus when `addr=` is not given), and the
  /// requester ID its DMA carries.
  func placements(model: VIOMMUModel) -> [GuestPlacement] {
    // q35's own root-bus functions: the host bridge at 00.0 and the ICH9 functions at
    // 1f.0, 1f.2, 1f.3; without -nodefaults the default VGA (01.0) and NIC (02.0).
    var taken: [String: Set<UInt8>] = ["": [0x00, 0x1f]]
    if !noDefaults { taken[""]!.formUnion([0x01, 0x02]) }
    for controller in controllers {
      if let slot = controller.slot { taken[controller.parent ?? "", default: []].insert(slot.slot) }
    }
    for device in devices {
      if let slot = device.slot { taken[device.bus ?? "", default: []].insert(slot.slot) }
    }
    func allocate(on bus: String) -> UInt8 {
      var used = taken[bus, default: []]
      let slot = (0..<32).map(UInt8.init).first { !used.contains($0) } ?? 31
      used.insert(slot)
      taken[bus] = used
      return slot
    }
    // The vIOMMUs that are PCI functions of their own take a root-bus slot first.
    if model.definition.isPCIFunction { _ = allocate(on: "") }
    for controller in controllers where controller.slot == nil {
      _ = allocate(on: controller.parent ?? "")
    }
    var result: [GuestPlacement] = []
    for (index, device) in devices.enumerated() {
      for other in otherRootDevices where other.before == index && other.slot == nil { _ = allocate(on: "") }
      let bus = device.bus ?? ""
      let slot = device.slot ?? GuestSlot(slot: allocate(on: bus))
      let address = GuestPCIAddress(bus: 0, slot: slot.slot, function: slot.function)
      var alias: GuestPCIAddress?
      var bridge: String?
      if let controller = controllers.first(where: { $0.id == bus }), controller.kind.aliases {
        // pci_device_get_iommu_bus_devfn: behind a PCIe-to-PCI bridge the requester ID is
        // devfn 0 of its secondary bus; behind a conventional PCI bridge, the bridge
        // itself. Bus numbers are still 0 while QEMU realizes the devices (seen in the
        // oracle: "device 00.00.0" for a device behind a pcie-pci-bridge).
        alias =
          controller.kind == .pciePCIBridge
          ? GuestPCIAddress(bus: 0, slot: 0, function: 0)
          : GuestPCIAddress(bus: 0, slot: controller.slot?.slot ?? 0, function: controller.slot?.function ?? 0)
        bridge = controller.id
      }
      result.append(GuestPlacement(address: address, alias: alias, aliasBridge: bridge, bus: device.bus))
    }
    return result
  }
}

extension VMInvocation {
  /// Whether checking `device` needs the iommufd backend's own answer (IOMMU_GET_HW_INFO,
  /// a nesting-parent HWPT): only when QEMU itself gives the device to iommufd and the
  /// configuration needs hardware information (first-stage translation, accel). A device
  /// on the legacy container becomes QEMU's legacy HostIOMMUDevice, which has no hw_info,
  /// and its DMA is mapped through the container: iommufd's answer (for which the kernel
  /// resets the device) tells nothing QEMU uses, and its IOVA ranges can even differ.
  package func needsIOMMUFDAnswer(for device: PCIAddress, _ configuration: VIOMMUConfiguration) -> Bool {
    configuration.needsHardwareInfo && devices.contains { $0.host == device && $0.iommufd != nil }
  }
}
