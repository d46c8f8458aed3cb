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
  /// The access names are looked up through: one of its own, so that pci.ids can be
  /// parsed on another thread while `access` lists the bus (a `pci_access` is not safe to
  /// share between threads). nil when names are not wanted.
  private let nameAccess: UnsafeMutablePointer<pci_access>?
  /// The pci.ids load `devices()` started, until the first lookup waits for it.
  private var pendingNameLoad: OpaquePointer?
  /// Whether that load was started: once per access (a second `devices()` finds the
  /// names loaded, or their failure already reported).
  private var nameLoadStarted = false
  private let root: SystemRoot
  private let lookupFlags: Int32
  /// The `sysfs.path` libpci reads (`<root>/sys/bus/pci`), for messages.
  private let sysfsPath: String
  private var resolveNames: Bool
  /// Whether `PCI_FILL_SUBSYS` is asked for: two sysfs files a device, and config space
  /// when they are missing (libpci's fallback, whose failures are warnings).
  private let readsSubsystem: Bool
  /// Reused for every name lookup (five per device).
  private var nameBuffer = [CChar](repeating: 0, count: 256)
  private var messageBuffer = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
  /// libpci's warnings, collected for the report instead of printed by libpci.
  private(set) var warnings: [String] = []

  init(root: SystemRoot, names: PCINameSource?, readsSubsystem: Bool = true) throws(HIODError) {
    guard let access = pci_alloc() else {
      throw .libpci("out of memory", during: "pci_alloc")
    }
    hiod_pci_install_handlers(access)
    access.pointee.method = UInt32(PCI_ACCESS_SYS_BUS_PCI.rawValue)
    let sysfsPath = root.resolve("/sys/bus/pci")
    // Raw bytes: a --sysroot that is not UTF-8 must reach libpci as given.
    _ = PathBytes.withCString(sysfsPath) { hiod_pci_set_param(access, "sysfs.path", $0) }
    var flags: Int32 = 0
    var nameAccess: UnsafeMutablePointer<pci_access>?
    if let names {
      // Only names are looked up through it: no method, no pci_init, no scan.
      guard let created = pci_alloc() else {
        pci_cleanup(access)
        throw .libpci("out of memory", during: "pci_alloc")
      }
      hiod_pci_install_handlers(created)
      if let path = names.idsPath { PathBytes.withCString(path) { hiod_pci_set_name_list_path(created, $0) } }
      if !names.useHwdb { flags |= Int32(PCI_LOOKUP_NO_HWDB.rawValue) }
      nameAccess = created
    }
    var message = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    if hiod_pci_init(access, &message, message.count) != 0 {
      pci_cleanup(access)
      if let nameAccess { pci_cleanup(nameAccess) }
      throw .libpci(String(nulTerminated: message), during: "pci_init")
    }
    self.access = access
    self.nameAccess = nameAccess
    self.root = root
    self.sysfsPath = sysfsPath
    self.lookupFlags = flags
    self.resolveNames = names != nil
    self.readsSubsystem = readsSubsystem
  }

  deinit {
    if let load = pendingNameLoad {
      var ignored: Int32 = 0
      _ = hiod_pci_finish_name_load(load, nil, 0, nil, 0, &ignored)
    }
    if let nameAccess { pci_cleanup(nameAccess) }
    pci_cleanup(access)
  }

  /// Every device libpci finds, in address order. A device whose mandatory attributes
  /// cannot be read (it vanished, or the tree is broken) is left out with a warning.
  ///
  /// This access lists the bus; the devices' attributes (six sysfs files each, four
  /// without the subsystem IDs) are read
  /// on `Parallel.threads` threads, each through a `pci_access` of its own, because one
  /// access caches a config-space descriptor and is not safe to share. Names are looked
  /// up here afterwards, through `nameAccess`, whose pci.ids is parsed on a thread of its
  /// own meanwhile (started first thing). Warnings keep libpci's device order, as a
  /// single thread gives them.
  mutating func devices() throws(HIODError) -> [LibPCIDevice] {
    if resolveNames, !nameLoadStarted, let nameAccess {
      nameLoadStarted = true
      pendingNameLoad = hiod_pci_start_name_load(nameAccess)
    }
    var message = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    if hiod_pci_scan_bus(access, &message, message.count) != 0 {
      drainWarnings()
      throw .libpci(String(nulTerminated: message), during: "scanning \(sysfsPath)")
    }
    drainWarnings()
    var listed: [PCIAddress?] = []
    var current = access.pointee.devices
    while let device = current {
      listed.append(Self.address(of: device.pointee))
      current = device.pointee.next
    }
    let root = self.root
    let readsSubsystem = self.readsSubsystem
    let identified = Parallel.map(listed, minimumChunk: 64) { chunk in
      Self.identify(chunk, root: root, readsSubsystem: readsSubsystem)
    }
    var result: [LibPCIDevice] = []
    result.reserveCapacity(listed.count)
    // SR-IOV hosts repeat a few identities thousands of times: each is looked up once
    // (libpci formats every answer with snprintf), and its devices share the strings.
    var namesByIdentity: [PCIIdentity: PCINames] = [:]
    for (address, identification) in zip(listed, identified) {
      guard let address else {
        warnings.append("libpci: skipped a device with an impossible address")
        continue
      }
      warnings += identification.warnings
      guard let identity = identification.identity else { continue }
      result.append(
        LibPCIDevice(
          address: address, identity: identity,
          names: resolveNames ? cachedNames(identity, of: address, in: &namesByIdentity) : .none))
    }
    result.sort { $0.address < $1.address }
    return result
  }

  /// What libpci read of one listed device, and what it said while reading.
  private struct Identification {
    var identity: PCIIdentity?
    var warnings: [String] = []
  }

  /// Reads the identity of each device of `chunk` through a new access of its own (the
  /// calling thread's). If that access cannot be set up, which the listing access just
  /// was, every device of the chunk says why instead.
  private static func identify(_ chunk: ArraySlice<PCIAddress?>, root: SystemRoot, readsSubsystem: Bool)
    -> [Identification]
  {
    var results: [Identification] = []
    results.reserveCapacity(chunk.count)
    do {
      let reader = try PCIAccess(root: root, names: nil, readsSubsystem: readsSubsystem)
      for address in chunk {
        results.append(address.map { reader.identify($0) } ?? Identification())
      }
    } catch {
      for address in chunk {
        results.append(
          Identification(identity: nil, warnings: address.map { ["\($0): skipped: \(error.description)"] } ?? []))
      }
    }
    return results
  }

  /// `PCI_FILL_IDENT | CLASS | CLASS_EXT | SUBSYS` (`SUBSYS` only if `readsSubsystem`)
  /// for the device at `address`, read on a `pci_get_dev` handle (the same sysfs files a
  /// listed device's fill reads).
  private func identify(_ address: PCIAddress) -> Identification {
    guard
      let device = pci_get_dev(
        access, Int32(address.domain), Int32(address.bus), Int32(address.device), Int32(address.function))
    else {
      return Identification(identity: nil, warnings: ["\(address): skipped: out of memory"])
    }
    defer { pci_free_dev(device) }
    var result = Identification()
    var message = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    let wanted = PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | (readsSubsystem ? PCI_FILL_SUBSYS : 0)
    var known: Int32 = 0
    let failed = hiod_pci_fill_info(device, wanted, &known, &message, message.count) != 0
    result.warnings += Self.takeWarnings()
    if failed {
      result.warnings.append("\(address): skipped: \(String(nulTerminated: message))")
      return result
    }
    let filled = device.pointee
    // libpci reads an empty or garbled vendor file as 0 and an absent device's
    // config as 0xffff; list it anyway, but say the identity is not to be trusted.
    if filled.vendor_id == 0 || filled.vendor_id == 0xffff {
      result.warnings.append(
        """
        \(address): vendor ID 0x\(filled.vendor_id.hex(width: 4)) is not a valid PCI vendor ID; \
        its vendor file may be empty or damaged
        """
      )
    }
    let hasSubsystem = known & PCI_FILL_SUBSYS != 0
    result.identity = PCIIdentity(
      vendorID: filled.vendor_id, deviceID: filled.device_id,
      classCode: filled.device_class, progIf: filled.prog_if, revision: filled.rev_id,
      subsystemVendorID: hasSubsystem ? filled.subsys_vendor_id : nil,
      subsystemDeviceID: hasSubsystem ? filled.subsys_id : nil)
    return result
  }

  private static func address(of raw: pci_dev) -> PCIAddress? {
    guard raw.domain >= 0, raw.dev < 32, raw.func < 8 else { return nil }
    return PCIAddress(
      domain: UInt32(raw.domain), bus: raw.bus, device: raw.dev, function: raw.func)
  }

  private mutating func cachedNames(
    _ identity: PCIIdentity, of address: PCIAddress, in cache: inout [PCIIdentity: PCINames]
  ) -> PCINames {
    if let names = cache[identity] { return names }
    let names = lookupNames(identity, of: address)
    cache[identity] = names
    return names
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
    finishNameLoad()
    guard resolveNames, let access = nameAccess else { return nil }
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

  /// Waits for the pci.ids load `devices()` started, and reports what it said as the first
  /// lookup would have, had it loaded the file itself: a parse error (then no names at
  /// all), then what libpci had said on this thread before, then what it said while
  /// parsing.
  private mutating func finishNameLoad() {
    guard let load = pendingNameLoad else { return }
    pendingNameLoad = nil
    var error = [CChar](repeating: 0, count: Int(HIOD_PCI_MESSAGE_MAX))
    var said = [CChar](repeating: 0, count: Int(HIOD_PCI_WARNINGS_MAX))
    var count: Int32 = 0
    if hiod_pci_finish_name_load(load, &error, error.count, &said, said.count, &count) != 0 {
      warnings.append("libpci: \(String(nulTerminated: error)); showing numeric IDs")
      resolveNames = false
    }
    drainWarnings()
    warnings += Self.warningLines(said, count: count)
  }

  private mutating func drainWarnings() {
    warnings += Self.takeWarnings()
  }

  /// The warnings libpci has given on this thread since the last call (the shim keeps
  /// them per thread), as report lines.
  private static func takeWarnings() -> [String] {
    guard hiod_pci_pending_warnings() > 0 else { return [] }
    var buffer = [CChar](repeating: 0, count: Int(HIOD_PCI_WARNINGS_MAX))
    let count = hiod_pci_take_warnings(&buffer, buffer.count)
    return warningLines(buffer, count: count)
  }

  /// The shim's warning buffer (`count` warnings, one a line) as report lines.
  private static func warningLines(_ buffer: [CChar], count: Int32) -> [String] {
    guard count > 0 else { return [] }
    let text = String(nulTerminated: buffer)
    var lines = text.split(separator: "\n").map { "libpci: \($0)" }
    if Int(count) > lines.count {
      lines.append("libpci: \(Int(count) - lines.count) more warnings not shown")
    }
    return lines
  }
}

extension String {
  /// Decodes a NUL-terminated C buffer (as filled in by the C shim).
  init(nulTerminated buffer: [CChar]) {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    self.init(decoding: bytes, as: UTF8.self)
  }
}
