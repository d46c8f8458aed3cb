// hiodctl — enumeration through libpci, the library lspci is built on.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import CLibPCI

/// What libpci tells about one device; the host scan adds driver, IOMMU and VFIO details.
///
/// The `driver` and `iommu_group` links are read by the scan, not through
/// `PCI_FILL_DRIVER`/`PCI_FILL_IOMMU_GROUP`: libpci resolves those with realpath(3),
/// one readlink per path component (~30 per device), which made them most of the
/// system time of a 4096-device scan. A single readlink gives the same basename.
struct LibPCIDevice {
  var address: PCIAddress
  var identity: PCIIdentity
  var names: PCINames
}

/// Where pci.ids comes from, and whether udev's hwdb may be asked first.
struct PCINameSource: Equatable {
  /// nil: libpci's built-in path (Debian: /usr/share/misc/pci.ids).
  var idsPath: String?
  var useHwdb: Bool

  /// Names for a tree: its own pci.ids if it carries one, else the host's database.
  /// The udev hwdb is only consulted for the live host; it cannot be re-rooted, and
  /// fixture trees must name devices the same way on every machine.
  static func forRoot(_ root: SystemRoot) -> PCINameSource {
    if root.isHost { return PCINameSource(idsPath: nil, useHwdb: hostHasHwdb(root)) }
    for candidate in ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]
    where root.exists(candidate) {
      return PCINameSource(idsPath: root.resolve(candidate), useHwdb: false)
    }
    return PCINameSource(idsPath: nil, useHwdb: false)
  }

  /// Where libudev looks for its compiled hwdb (systemd's sd-hwdb search path).
  static let hwdbLocations = [
    "/etc/systemd/hwdb/hwdb.bin", "/etc/udev/hwdb.bin", "/usr/lib/systemd/hwdb/hwdb.bin",
    "/lib/systemd/hwdb/hwdb.bin", "/lib/udev/hwdb.bin",
  ]

  /// Whether the host has a hwdb to ask. Without one, libpci tries to open it again
  /// for every name it looks up (five paths, four names per device) and leaks a udev
  /// context each time (valgrind, libpci 3.9): better not to ask at all.
  private static func hostHasHwdb(_ root: SystemRoot) -> Bool {
    hwdbLocations.contains { root.exists($0) }
  }
}

/// Owns a libpci `pci_access` for the duration of one enumeration.
///
/// libpci is forced onto its linux-sysfs method with `sysfs.path` under the system root:
/// hiodctl never falls back to /proc/bus/pci or direct port I/O, so a fixture tree is
/// read exactly like the live host and nothing on the host is touched.
struct PCIAccess: ~Copyable {
  private let access: UnsafeMutablePointer<pci_access>
  private let lookupFlags: Int32
  /// The `sysfs.path` libpci reads (`<root>/sys/bus/pci`), for messages.
  private let sysfsPath: String
  private var resolveNames: Bool
  /// Reused for every name lookup (five per device).
  private var nameBuffer = [CChar](repeating: 0, count: 256)
  private var messageBuffer = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
  /// libpci's warnings, collected for the report instead of printed by libpci.
  private(set) var warnings: [String] = []

  init(root: SystemRoot, names: PCINameSource?) throws(HIODError) {
    guard let access = pci_alloc() else {
      throw .libpci("out of memory", during: "pci_alloc")
    }
    hiod_pci_install_handlers(access)
    access.pointee.method = UInt32(PCI_ACCESS_SYS_BUS_PCI.rawValue)
    let sysfsPath = root.resolve("/sys/bus/pci")
    // Raw bytes: a --sysroot that is not UTF-8 must reach libpci as given.
    _ = PathBytes.withCString(sysfsPath) { hiod_pci_set_param(access, "sysfs.path", $0) }
    var flags: Int32 = 0
    if let names {
      if let path = names.idsPath { PathBytes.withCString(path) { hiod_pci_set_name_list_path(access, $0) } }
      if !names.useHwdb { flags |= Int32(PCI_LOOKUP_NO_HWDB.rawValue) }
    }
    var message = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    if hiod_pci_init(access, &message, message.count) != 0 {
      pci_cleanup(access)
      throw .libpci(String(nulTerminated: message), during: "pci_init")
    }
    self.access = access
    self.sysfsPath = sysfsPath
    self.lookupFlags = flags
    self.resolveNames = names != nil
  }

  deinit {
    pci_cleanup(access)
  }

  /// Every device libpci finds, in address order. A device whose mandatory attributes
  /// cannot be read (it vanished, or the tree is broken) is left out with a warning.
  mutating func devices() throws(HIODError) -> [LibPCIDevice] {
    var message = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    if hiod_pci_scan_bus(access, &message, message.count) != 0 {
      drainWarnings()
      throw .libpci(String(nulTerminated: message), during: "scanning \(sysfsPath)")
    }
    drainWarnings()
    let wanted =
      PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS
    var result: [LibPCIDevice] = []
    var current = access.pointee.devices
    while let device = current {
      current = device.pointee.next
      let raw = device.pointee
      guard let address = Self.address(of: raw) else {
        warnings.append("libpci: skipped a device with an impossible address")
        continue
      }
      var known: Int32 = 0
      if hiod_pci_fill_info(device, wanted, &known, &message, message.count) != 0 {
        drainWarnings()
        warnings.append("\(address): skipped: \(String(nulTerminated: message))")
        continue
      }
      drainWarnings()
      let filled = device.pointee
      // libpci reads an empty or garbled vendor file as 0 and an absent device's
      // config as 0xffff; list it anyway, but say the identity is not to be trusted.
      if filled.vendor_id == 0 || filled.vendor_id == 0xffff {
        warnings.append(
          """
          \(address): vendor ID 0x\(filled.vendor_id.hex(width: 4)) is not a valid PCI vendor ID; \
          its vendor file may be empty or damaged
          """
        )
      }
      let hasSubsystem = known & PCI_FILL_SUBSYS != 0
      let identity = PCIIdentity(
        vendorID: filled.vendor_id, deviceID: filled.device_id,
        classCode: filled.device_class, progIf: filled.prog_if, revision: filled.rev_id,
        subsystemVendorID: hasSubsystem ? filled.subsys_vendor_id : nil,
        subsystemDeviceID: hasSubsystem ? filled.subsys_id : nil)
      result.append(
        LibPCIDevice(
          address: address, identity: identity,
          names: resolveNames ? lookupNames(identity, of: address) : .none))
    }
    result.sort { $0.address < $1.address }
    return result
  }

  private static func address(of raw: pci_dev) -> PCIAddress? {
    guard raw.domain >= 0, raw.dev < 32, raw.func < 8 else { return nil }
    return PCIAddress(
      domain: UInt32(raw.domain), bus: raw.bus, device: raw.dev, function: raw.func)
  }

  private mutating func lookupNames(_ id: PCIIdentity, of address: PCIAddress) -> PCINames {
    let vendor = Int32(id.vendorID)
    let device = Int32(id.deviceID)
    var names = PCINames(
      vendor: lookup(PCI_LOOKUP_VENDOR.rawValue, vendor),
      device: lookup(PCI_LOOKUP_DEVICE.rawValue, vendor, device),
      deviceClass: lookup(PCI_LOOKUP_CLASS.rawValue, Int32(id.classCode)))
    if let subVendor = id.subsystemVendorID, let subDevice = id.subsystemDeviceID,
      subVendor != 0 || subDevice != 0
    {
      let subsystem = PCI_LOOKUP_SUBSYSTEM.rawValue
      names.subsystemVendor = lookup(subsystem | PCI_LOOKUP_VENDOR.rawValue, Int32(subVendor))
      names.subsystemDevice = lookup(
        subsystem | PCI_LOOKUP_DEVICE.rawValue, vendor, device, Int32(subVendor),
        Int32(subDevice))
    }
    return names
  }

  /// One `pci_lookup_name` call with 1, 2 or 4 integer arguments.
  private mutating func lookup(_ mode: UInt32, _ ids: Int32...) -> String? {
    guard resolveNames else { return nil }
    let flags = Int32(mode) | lookupFlags
    let size = Int32(nameBuffer.count)
    let messageSize = messageBuffer.count
    let name: String? = nameBuffer.withUnsafeMutableBufferPointer { buffer in
      messageBuffer.withUnsafeMutableBufferPointer { message in
        let result: UnsafePointer<CChar>?
        switch ids.count {
        case 1:
          result = hiod_pci_lookup_name1(
            access, buffer.baseAddress, size, flags, ids[0], message.baseAddress, messageSize)
        case 2:
          result = hiod_pci_lookup_name2(
            access, buffer.baseAddress, size, flags, ids[0], ids[1], message.baseAddress,
            messageSize)
        default:
          result = hiod_pci_lookup_name4(
            access, buffer.baseAddress, size, flags, ids[0], ids[1], ids[2], ids[3],
            message.baseAddress, messageSize)
        }
        return result.map { String(cString: $0) }
      }
    }
    if messageBuffer[0] != 0 {
      // A broken pci.ids: say so once and carry on with numeric IDs only, rather than
      // re-parsing the broken file for every lookup.
      warnings.append("libpci: \(String(nulTerminated: messageBuffer)); showing numeric IDs")
      resolveNames = false
    }
    drainWarnings()
    return name
  }

  private mutating func drainWarnings() {
    guard hiod_pci_pending_warnings() > 0 else { return }
    var buffer = [CChar](repeating: 0, count: 8192)
    let count = hiod_pci_take_warnings(&buffer, buffer.count)
    guard count > 0 else { return }
    let text = String(nulTerminated: buffer)
    let lines = text.split(separator: "\n").map { "libpci: \($0)" }
    warnings.append(contentsOf: lines)
    if Int(count) > lines.count {
      warnings.append("libpci: \(Int(count) - lines.count) more warnings not shown")
    }
  }
}

extension String {
  /// Decodes a NUL-terminated C buffer (as filled in by the C shim).
  init(nulTerminated buffer: [CChar]) {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    self.init(decoding: bytes, as: UTF8.self)
  }
}
