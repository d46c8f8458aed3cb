// hiodctl — PCI device addresses (BDF) as the kernel names them.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A PCI function's address: domain (segment), bus, device, function.
///
/// The canonical text form is the kernel's `%04x:%02x:%02x.%d`, so domains wider than
/// 16 bits (Intel VMD, Azure) print with more than four digits: `10000:00:02.0`.
package struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
  package let domain: UInt32
  package let bus: UInt8
  package let device: UInt8
  package let function: UInt8

  package init(domain: UInt32, bus: UInt8, device: UInt8, function: UInt8) {
    precondition(device < 32 && function < 8, "PCI device < 32 and function < 8")
    self.domain = domain
    self.bus = bus
    self.device = device
    self.function = function
  }

  /// Parses `DDDD:BB:DD.F` (the domain may have more than four hex digits) or the short
  /// `BB:DD.F`, which means domain 0. Returns nil for anything else.
  package init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    let domainText: Substring
    let busText: Substring
    let slotText: Substring
    switch parts.count {
    case 2:
      (domainText, busText, slotText) = ("0", Substring(parts[0]), Substring(parts[1]))
    case 3:
      guard parts[0].count >= 4 else { return nil }
      (domainText, busText, slotText) = (Substring(parts[0]), Substring(parts[1]), Substring(parts[2]))
    default:
      return nil
    }
    let slotParts = slotText.split(separator: ".", omittingEmptySubsequences: false)
    guard slotParts.count == 2,
      busText.count == 2, slotParts[0].count == 2, slotParts[1].count == 1,
      domainText.count <= 8,
      let domain = UInt32(hex: domainText),
      let bus = UInt8(hex: busText),
      let device = UInt8(hex: slotParts[0]), device < 32,
      let function = UInt8(hex: slotParts[1]), function < 8
    else { return nil }
    // The kernel keeps domains in a signed int (libpci rejects > 0x7fffffff too).
    guard domain <= 0x7fff_ffff else { return nil }
    self.init(domain: domain, bus: bus, device: device, function: function)
  }

  /// `0000:00:02.0`: the kernel's name for the device, as in /sys/bus/pci/devices.
  package var description: String {
    "\(domain.hex(width: 4)):\(bus.hex(width: 2)):\(device.hex(width: 2)).\(function)"
  }

  package static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
    (lhs.domain, lhs.bus, lhs.device, lhs.function)
      < (rhs.domain, rhs.bus, rhs.device, rhs.function)
  }
}

extension FixedWidthInteger where Self: UnsignedInteger {
  /// Parses hex digits only: no sign, no `0x`, no spaces (unlike `init(_:radix:)`,
  /// which accepts a leading `+`).
  init?(hex text: some StringProtocol) {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
    self.init(text, radix: 16)
  }

  /// Lower-case hex, zero-padded to `width` digits (wider values keep all digits).
  ///
  /// Written into the string's buffer directly: every address and ID printed goes
  /// through here, and `String(_:radix:)` plus padding was a visible share of `list`
  /// on hosts with thousands of functions.
  package func hex(width: Int) -> String {
    let significant = (Self.bitWidth - leadingZeroBitCount + 3) / 4
    let count = Swift.max(width, significant, 1)
    return String(unsafeUninitializedCapacity: count) { buffer in
      var rest = self
      for position in stride(from: count - 1, through: 0, by: -1) {
        let nibble = UInt8(truncatingIfNeeded: rest & 0xf)
        buffer[position] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        rest >>= 4
      }
      return count
    }
  }
}

extension UInt8 {
  var isHexDigit: Bool {
    (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
  }
}
