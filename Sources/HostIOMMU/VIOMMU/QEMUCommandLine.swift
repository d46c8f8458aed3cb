// hiodctl — a QEMU command line as the VM it describes: the machine, the vIOMMU and its
// properties, the iommufd objects, the vfio-pci devices with their buses and slots, the
// bus controllers, memory and -global defaults. QEMU's own option syntax: `key=value`
// lists with `,,` for a comma, the first bare word as the driver (or `driver=`), and the
// JSON form `-device '{"driver": …}'`. Everything else is ignored and named once.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A command line that cannot be a VM hiodctl can check.
package struct CommandLineError: Error, Hashable, Sendable {
  package var message: String
  package var hints: [String]

  init(_ message: String, hints: [String] = []) {
    self.message = message
    self.hints = hints
  }
}

/// What a QEMU command line asks for.
package struct ParsedCommandLine: Sendable {
  package var invocation: VMInvocation
  /// The vIOMMU model (`.none` when there is none).
  package var model: VIOMMUModel
  /// Its properties as written, QEMU names (including `-global` ones).
  package var options: VIOMMUOptions
  /// Properties of the vIOMMU hiodctl has no rules for, as written (`intremap=on`).
  package var otherProperties: [QEMUProperty]
  /// The machine type, when given.
  package var machine: MachineType?
  /// A second vIOMMU, which QEMU refuses.
  package var extraVIOMMU: String?

  /// The vIOMMU configuration this command line gives under QEMU `qemu`: its properties
  /// as written, the ones hiodctl has no rules for kept too (their existence is checked).
  package func configuration(qemu: QEMUVersion) -> VIOMMUConfiguration {
    var configuration = VIOMMUConfiguration(model: model, qemu: qemu, machine: machine, options: options)
    configuration.otherProperties = otherProperties
    return configuration
  }

  /// The VM as checked: the invocation, with a second vIOMMU if there is one.
  package var vm: VMInvocation {
    var vm = invocation
    vm.extraVIOMMU = extraVIOMMU
    return vm
  }
}

package enum QEMUCommandLine {
  /// The QEMU options that take a value (everything else is a flag), for skipping.
  static let optionsWithValues: Set<String> = [
    "M", "machine", "cpu", "smp", "m", "device", "object", "global", "drive", "netdev", "nic", "chardev", "serial",
    "monitor", "qmp", "mon", "kernel", "initrd", "append", "bios", "L", "name", "uuid", "boot", "accel", "display",
    "vga", "vnc", "spice", "rtc", "numa", "mem-path", "incoming", "pidfile", "runas", "sandbox", "msg", "trace",
    "D", "d", "fsdev", "virtfs", "usbdevice", "k", "audiodev", "tpmdev", "blockdev", "hda", "hdb", "hdc", "hdd",
    "cdrom", "fda", "fdb", "smbios", "fw_cfg", "add-fd", "action", "overcommit", "compat", "plugin", "icount",
    "iscsi", "set", "readconfig", "option-rom", "watchdog-action", "loadvm", "machine-type", "semihosting-config",
    "parallel", "debugcon", "gdb", "mem-prealloc", "run-with", "iothread", "pflash", "mtdblock", "sd", "prom-env",
  ]

  /// Parses `argv` (program first). A single argument holding the whole line (pasted
  /// from `ps -o args`) is split as a shell would.
  package static func parse(_ argv: [String]) throws(CommandLineError) -> ParsedCommandLine {
    var arguments = argv
    if arguments.count == 1, arguments[0].contains(" ") {
      arguments = try shellSplit(arguments[0])
    }
    guard let program = arguments.first else {
      throw CommandLineError(
        "the QEMU command line is empty", hints: ["give the program first: -- qemu-system-x86_64 …"])
    }
    var machineText: String?
    var machine: MachineType?
    var machineOptions: [(String, String)] = []
    var viommuText: String?
    var viommuDriver: String?
    var viommuProperties: [(String, String)] = []
    var extraVIOMMU: String?
    var objects: [(id: String, optionText: String)] = []
    var devices: [AssignedDevice] = []
    var controllers: [GuestController] = []
    var memory: UInt64 = 128
    var noDefaults = false
    var globals: [(String, String, String)] = []
    var ids: Set<String> = []
    var ignored: [String] = []
    var otherRoot: [(before: Int, slot: GuestSlot?)] = []

    var index = 1
    while index < arguments.count {
      let word = arguments[index]
      index += 1
      guard word.hasPrefix("-"), word.count > 1 else {
        ignored.append(word)
        continue
      }
      var name = String(word.drop { $0 == "-" })
      var inlineValue: String?
      if let equals = name.firstIndex(of: "="), !name.hasPrefix("device"), !name.hasPrefix("object") {
        inlineValue = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      func value() throws(CommandLineError) -> String {
        if let inlineValue { return inlineValue }
        guard index < arguments.count else { throw CommandLineError("\(word) needs a value") }
        index += 1
        return arguments[index - 1]
      }
      switch name {
      case "M", "machine":
        let text = try value()
        machineText = "-\(name) \(text)"
        let list = try optionList(text, implicitKey: "type")
        machineOptions = list.pairs
        if let type = list.pairs.first(where: { $0.0 == "type" })?.1 {
          guard let parsed = MachineType(type) else {
            throw CommandLineError(
              "\(word) \(text): hiodctl has no rules for machine type '\(type)'",
              hints: ["x86: q35, pc-q35-X.Y; Arm: virt, virt-X.Y"])
          }
          machine = parsed
        }
      case "m":
        memory = try memorySize(try value(), option: word)
      case "nodefaults":
        noDefaults = true
      case "global":
        let text = try value()
        if let parsed = try global(text) { globals.append(parsed) }
      case "object":
        let text = try value()
        let list = try optionList(text, implicitKey: "qom-type")
        if list.pairs.first(where: { $0.0 == "qom-type" })?.1 == "iommufd" {
          guard let id = list.pairs.first(where: { $0.0 == "id" })?.1 else {
            throw CommandLineError("-object \(text): an iommufd object needs id=")
          }
          objects.append((id, "-object \(text)"))
        } else {
          ignored.append("-object \(text)")
        }
      case "device":
        let text = try value()
        let list = try optionList(text, implicitKey: "driver")
        guard let driver = list.pairs.first(where: { $0.0 == "driver" })?.1, !driver.isEmpty else {
          throw CommandLineError("-device \(text): no driver", hints: ["QEMU's form is -device DRIVER[,key=value…]"])
        }
        let properties = list.pairs.filter { $0.0 != "driver" }
        let location = "-device \(text)"
        if let id = properties.first(where: { $0.0 == "id" })?.1 {
          guard ids.insert(id).inserted else {
            throw CommandLineError("\(location): duplicate id '\(id)'", hints: ["QEMU refuses two devices with one id"])
          }
        }
        func property(_ key: String) -> String? {
          let value = properties.last { $0.0 == key }?.1
          // The root complex by name is the root bus.
          if key == "bus", value == "pcie.0" || value == "pci.0" { return nil }
          return value
        }
        switch driver {
        case "vfio-pci", "vfio-pci-nohotplug":
          let host: PCIAddress
          if let text = property("host") {
            guard let address = PCIAddress(text) else {
              throw CommandLineError("\(location): host=\(text) is not a PCI address")
            }
            host = address
          } else if let sysfs = property("sysfsdev"), let last = sysfs.split(separator: "/").last,
            let address = PCIAddress(last)
          {
            host = address
          } else {
            throw CommandLineError(
              "\(location): vfio-pci needs host= or sysfsdev=", hints: ["mdev and fd= passing are not checked"])
          }
          var slot: GuestSlot?
          if let addr = property("addr") {
            guard let parsed = GuestSlot(qemu: addr) else {
              throw CommandLineError("\(location): addr=\(addr) is not a slot")
            }
            slot = parsed
          }
          devices.append(
            AssignedDevice(
              host: host, iommufd: property("iommufd"), id: property("id"), bus: property("bus"), slot: slot,
              optionText: location))
        case "intel-iommu", "virtio-iommu-pci", "virtio-iommu", "amd-iommu", "arm-smmuv3":
          if viommuDriver != nil {
            extraVIOMMU = location
          } else {
            viommuDriver = driver
            viommuText = location
            viommuProperties = properties
          }
        case "pcie-root-port", "ioh3420", "x3130-upstream", "xio3130-downstream", "pcie-pci-bridge", "pci-bridge",
          "pxb-pcie":
          guard let id = property("id") else {
            ignored.append(location)
            continue
          }
          let kind: GuestBusKind =
            driver == "pcie-pci-bridge" ? .pciePCIBridge : driver == "pci-bridge" ? .pciBridge : .pcieRootPort
          controllers.append(
            GuestController(
              id: id, kind: kind, parent: property("bus"), slot: property("addr").flatMap(GuestSlot.init(qemu:))))
        default:
          // Another device: a PCI one on the root bus takes a slot, as QEMU assigns them.
          if property("bus") == nil, looksLikePCI(driver) {
            otherRoot.append((devices.count, property("addr").flatMap(GuestSlot.init(qemu:))))
          }
          ignored.append("-device \(driver)")
        }
      default:
        if optionsWithValues.contains(name), inlineValue == nil, index < arguments.count { index += 1 }
        ignored.append("-\(name)")
      }
    }

    // -machine virt,iommu=smmuv3: the machine-wide SMMUv3.
    var model = viommuDriver.flatMap(VIOMMUModel.named(qemuDriver:)) ?? .none
    if model == .none, machineOptions.contains(where: { $0.0 == "iommu" && $0.1 == "smmuv3" }) { model = .smmuv3 }
    var options = VIOMMUOptions()
    var other: [QEMUProperty] = []
    // -global applies to the device whatever its position; properties on the -device
    // line come after it and win.
    let device = model.qemuDevice
    let globalProperties = globals.filter { $0.0 == device }.map { ($0.1, $0.2) }
    for (key, text) in globalProperties + viommuProperties where key != "id" && key != "bus" && key != "addr" {
      guard let row = VIOMMUProperties.row(named: key, model: model) else {
        other.append(QEMUProperty(name: key, value: text))
        continue
      }
      guard let value = propertyValue(text, kind: row.kind) else {
        throw CommandLineError(
          "\(viommuText ?? device): \(key)=\(text) is not a value hiodctl can read",
          hints: ["QEMU's booleans are on/off (or true/false); numbers are decimal"])
      }
      options.set(row.property, value, spelledAs: key)
    }
    var invocation = VMInvocation(
      origin: .commandLine, program: program, machineOptionText: machineText, viommuOptionText: viommuText,
      iommufdObjects: objects, devices: devices, controllers: controllers, memoryMiB: memory, noDefaults: noDefaults,
      otherRootDevices: otherRoot, ignored: Array(Set(ignored)).sorted())
    invocation.ignored = uniqueInOrder(ignored)
    return ParsedCommandLine(
      invocation: invocation, model: model, options: options, otherProperties: other, machine: machine,
      extraVIOMMU: extraVIOMMU)
  }

  private static func uniqueInOrder(_ words: [String]) -> [String] {
    var seen = Set<String>()
    return words.filter { seen.insert($0).inserted }
  }

  /// Drivers that are PCI functions (and so take a root-bus slot without `bus=`).
  static func looksLikePCI(_ driver: String) -> Bool {
    driver.hasSuffix("-pci") || driver.hasPrefix("virtio-") && driver.contains("pci")
      || [
        "e1000", "e1000e", "igb", "rtl8139", "VGA", "qxl-vga", "virtio-vga", "bochs-display", "qemu-xhci",
        "nec-usb-xhci", "ich9-usb-ehci1", "usb-ehci", "ahci", "ich9-ahci", "megasas", "lsi53c895a", "pvscsi",
        "ivshmem-plain", "ivshmem-doorbell", "ich9-intel-hda", "intel-hda", "vmxnet3", "pcie-root-port",
      ].contains(driver)
  }

  /// QEMU's boolean and number spellings.
  static func propertyValue(_ text: String, kind: PropertyKind) -> PropertyValue? {
    switch kind {
    case .onOff, .flag:
      switch text {
      case "on", "true", "yes", "y": return .bool(true)
      case "off", "false", "no", "n": return .bool(false)
      default: return nil
      }
    case .bits:
      return Int(text).map(PropertyValue.int)
    case .choice:
      return .word(text)
    }
  }

  /// `-m 4G`, `-m 4096`, `-m size=4G,slots=…`: MiB.
  static func memorySize(_ text: String, option: String) throws(CommandLineError) -> UInt64 {
    var size = text
    if text.contains("=") || text.contains(",") {
      let list = try optionList(text, implicitKey: "size")
      size = list.pairs.first { $0.0 == "size" }?.1 ?? "128"
    }
    let units: [Character: UInt64] = [
      "K": 1, "k": 1, "M": 1 << 10, "m": 1 << 10, "G": 1 << 20, "g": 1 << 20, "T": 1 << 30, "t": 1 << 30,
    ]
    var digits = size
    var kib: UInt64 = 1 << 10  // bare numbers are MiB
    if let last = size.last, let unit = units[last] {
      digits = String(size.dropLast())
      kib = unit
    } else if size.hasSuffix("B") || size.hasSuffix("b") {
      digits = String(size.dropLast())
      kib = 0
    }
    guard let number = Double(digits), number > 0 else {
      throw CommandLineError("\(option) \(text): not a memory size")
    }
    if kib == 0 { return max(1, UInt64(number) >> 20) }
    return max(1, UInt64(number * Double(kib)) >> 10)
  }

  /// `-global intel-iommu.caching-mode=on` or `-global driver=…,property=…,value=…`.
  static func global(_ text: String) throws(CommandLineError) -> (String, String, String)? {
    if text.hasPrefix("driver=") {
      let list = try optionList(text, implicitKey: "driver")
      func pick(_ key: String) -> String? { list.pairs.first { $0.0 == key }?.1 }
      guard let driver = pick("driver"), let property = pick("property"), let value = pick("value") else { return nil }
      return (driver, property, value)
    }
    guard let dot = text.firstIndex(of: "."), let equals = text.firstIndex(of: "="), dot < equals else {
      throw CommandLineError("-global \(text): expected DRIVER.PROPERTY=VALUE")
    }
    return (
      String(text[..<dot]), String(text[text.index(after: dot)..<equals]), String(text[text.index(after: equals)...])
    )
  }

  /// QEMU's `key=value,…` list (`,,` is a comma; a first element without `=` is the value
  /// of `implicitKey`), or the JSON object form.
  static func optionList(_ text: String, implicitKey: String) throws(CommandLineError) -> (
    pairs: [(String, String)], json: Bool
  ) {
    if text.hasPrefix("{") {
      return (try jsonObject(text), true)
    }
    var elements: [String] = []
    var current = ""
    var characters = text[...]
    while let character = characters.popFirst() {
      if character == "," {
        if characters.first == "," {
          characters.removeFirst()
          current.append(",")
        } else {
          elements.append(current)
          current = ""
        }
      } else {
        current.append(character)
      }
    }
    elements.append(current)
    var pairs: [(String, String)] = []
    for (position, element) in elements.enumerated() where !element.isEmpty {
      if let equals = element.firstIndex(of: "=") {
        pairs.append((String(element[..<equals]), String(element[element.index(after: equals)...])))
      } else if position == 0 {
        pairs.append((implicitKey, element))
      } else {
        // QEMU's shorthand for a boolean: `key` means key=on.
        pairs.append((element, "on"))
      }
    }
    return (pairs, false)
  }

  /// A flat JSON object of strings, numbers and booleans (`-device '{"driver":…}'`).
  static func jsonObject(_ text: String) throws(CommandLineError) -> [(String, String)] {
    var scanner = JSONScanner(Array(text.utf8))
    do {
      return try scanner.object()
    } catch {
      throw CommandLineError("\(text): not a JSON object QEMU would accept (\(error.message))")
    }
  }

  /// Splits a pasted command line as a POSIX shell would (quotes, backslashes).
  package static func shellSplit(_ line: String) throws(CommandLineError) -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var characters = line[...]
    while let character = characters.popFirst() {
      switch character {
      case "'":
        inWord = true
        guard let end = characters.firstIndex(of: "'") else {
          throw CommandLineError(
            "unbalanced ' in the command line", hints: ["quote each argument the way a shell would"])
        }
        current += characters[..<end]
        characters = characters[characters.index(after: end)...]
      case "\"":
        inWord = true
        var closed = false
        while let inner = characters.popFirst() {
          if inner == "\"" {
            closed = true
            break
          }
          if inner == "\\", let next = characters.first, "\"\\$`".contains(next) {
            current.append(next)
            characters.removeFirst()
          } else {
            current.append(inner)
          }
        }
        guard closed else {
          throw CommandLineError(
            "unbalanced \" in the command line", hints: ["quote each argument the way a shell would"])
        }
      case "\\":
        inWord = true
        if let next = characters.popFirst(), next != "\n" { current.append(next) }
      case " ", "\t", "\n":
        if inWord { words.append(current) }
        current = ""
        inWord = false
      default:
        inWord = true
        current.append(character)
      }
    }
    if inWord { words.append(current) }
    return words
  }
}

/// Just enough JSON for QEMU's `-device` / `-object` JSON form.
struct JSONScanner {
  struct Failure: Error { let message: String }
  private let bytes: [UInt8]
  private var position = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  private mutating func skipSpace() {
    while position < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) { position += 1 }
  }

  private mutating func expect(_ byte: UInt8) throws(Failure) {
    skipSpace()
    guard position < bytes.count, bytes[position] == byte else {
      throw Failure(message: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(position)")
    }
    position += 1
  }

  mutating func object() throws(Failure) -> [(String, String)] {
    try expect(UInt8(ascii: "{"))
    var pairs: [(String, String)] = []
    skipSpace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      return pairs
    }
    while true {
      skipSpace()
      let key = try string()
      try expect(UInt8(ascii: ":"))
      skipSpace()
      pairs.append((key, try scalar()))
      skipSpace()
      guard position < bytes.count else { throw Failure(message: "unterminated object") }
      if bytes[position] == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "}"))
      skipSpace()
      guard position == bytes.count else { throw Failure(message: "trailing characters after the object") }
      return pairs
    }
  }

  private mutating func scalar() throws(Failure) -> String {
    guard position < bytes.count else { throw Failure(message: "missing value") }
    if bytes[position] == UInt8(ascii: "\"") { return try string() }
    let start = position
    while position < bytes.count, !",} \t\n\r".utf8.contains(bytes[position]) { position += 1 }
    let word = String(decoding: bytes[start..<position], as: UTF8.self)
    switch word {
    case "true": return "on"
    case "false": return "off"
    default:
      guard !word.isEmpty, Double(word) != nil else { throw Failure(message: "unsupported value '\(word)'") }
      return word
    }
  }

  private mutating func string() throws(Failure) -> String {
    try expect(UInt8(ascii: "\""))
    var out: [UInt8] = []
    while position < bytes.count {
      let byte = bytes[position]
      position += 1
      if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      if byte == UInt8(ascii: "\\"), position < bytes.count {
        let escaped = bytes[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "n"): out.append(0x0a)
        case UInt8(ascii: "t"): out.append(0x09)
        default: out.append(escaped)
        }
        continue
      }
      out.append(byte)
    }
    throw Failure(message: "unterminated string")
  }
}
