// hiodctl — turning BDF arguments into devices of the scanned host.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum DeviceArguments {
  /// The devices named by `arguments`, in the order given (duplicates dropped unless
  /// `keepDuplicates`: for check, a device named twice is assigned to the VM twice).
  /// A malformed BDF is a usage error (64); a BDF the host lacks is a runtime error (3).
  static func resolve(
    _ arguments: [String], in host: HostView, command: String, keepDuplicates: Bool = false
  ) throws -> [PCIDevice] {
    let inventory = host.inventory
    var devices: [PCIDevice] = []
    for argument in arguments {
      guard let address = PCIAddress(argument) else {
        throw UsageError(
          message: "invalid BDF '\(argument)': \(BDFSyntax.problem(argument))",
          hints: ["a BDF is DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:01:00.0"],
          command: command)
      }
      guard let device = inventory.devices.first(where: { $0.address == address }) else {
        throw HIODError(
          .notFound, "no PCI device \(address) on \(host.place)",
          hints: ["'hiodctl list' shows all \(inventory.devices.count) devices"])
      }
      if keepDuplicates || !devices.contains(where: { $0.address == address }) { devices.append(device) }
    }
    return devices
  }
}

/// Why a text is not a BDF, in the words lspci uses for -s.
enum BDFSyntax {
  static func problem(_ text: String) -> String {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2 || parts.count == 3 else {
      return "expected DDDD:BB:DD.F or BB:DD.F (\(parts.count - 1) colons)"
    }
    func hex(_ field: Substring) -> UInt64? {
      field.isEmpty || !field.allSatisfy(\.isHexDigit) ? nil : UInt64(field, radix: 16)
    }
    if parts.count == 3 {
      let domain = parts[0]
      guard let value = hex(domain) else { return "invalid domain number '\(domain)'" }
      if domain.count < 4 {
        return
          """
          the domain has \(domain.count) digits; \
          write all four (\(String(repeating: "0", count: 4 - domain.count))\(domain))
          """
      }
      if domain.count > 8 || value > 0x7fff_ffff { return "domain number \(domain) out of range (at most 7fffffff)" }
    }
    let bus = parts[parts.count - 2]
    guard hex(bus) != nil else { return "invalid bus number '\(bus)'" }
    if bus.count != 2 { return "bus number '\(bus)': two hex digits" }
    let slot = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
    guard slot.count == 2 else { return "expected DEVICE.FUNCTION after the bus, e.g. 02.0" }
    guard let device = hex(slot[0]) else { return "invalid slot number '\(slot[0])'" }
    if slot[0].count != 2 { return "slot number '\(slot[0])': two hex digits" }
    if device > 0x1f { return "invalid slot number \(slot[0]) (at most 1f)" }
    guard let function = hex(slot[1]), slot[1].count == 1 else { return "invalid function number '\(slot[1])'" }
    if function > 7 { return "invalid function number \(slot[1]) (at most 7)" }
    return "not a PCI address"
  }
}
