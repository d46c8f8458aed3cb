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
  ///
  /// Read byte by byte: every sysfs link target and group member goes through here (a
  /// 4096-function scan parses tens of thousands), and splitting into substrings cost
  /// about 6,700 instructions a parse.
  package init?(_ text: some StringProtocol) {
    let parsed =
      text.utf8.withContiguousStorageIfAvailable(Self.parse)
      ?? Array(text.utf8).withUnsafeBufferPointer(Self.parse)
    guard let parsed else { return nil }
    self = parsed
  }

  private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> PCIAddress? {
    // [DDDD…:]BB:SS.F — the bus starts after the first colon of the long form.
    let colon = UInt8(ascii: ":")
    guard let first = bytes.firstIndex(of: colon) else { return nil }
    let domain: UInt32
    let busStart: Int
    if let second = bytes[(first + 1)...].firstIndex(of: colon) {
      // Four to eight domain digits; the kernel keeps domains in a signed int (libpci
      // rejects > 0x7fffffff too).
      guard (4...8).contains(first), let value = UInt64(hexDigits: bytes[..<first]), value <= 0x7fff_ffff else {
        return nil
      }
      domain = UInt32(value)
      busStart = first + 1
      guard second == busStart + 2 else { return nil }
    } else {
      domain = 0
      busStart = 0
      guard first == 2 else { return nil }
    }
    // BB:SS.F exactly: seven bytes from the bus on.
    let slot = busStart + 3
    guard bytes.count == slot + 4, bytes[slot + 2] == UInt8(ascii: "."),
      let bus = UInt64(hexDigits: bytes[busStart..<busStart + 2]),
      let device = UInt64(hexDigits: bytes[slot..<slot + 2]), device < 32,
      let function = UInt64(hexDigits: bytes[(slot + 3)...]), function < 8
    else { return nil }
    return PCIAddress(
      domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
  }

  /// `0000:00:02.0`: the kernel's name for the device, as in /sys/bus/pci/devices.
  ///
  /// Written into the string's buffer: every device of every document and table is
  /// named by it, and four interpolated pieces cost about 2,600 instructions a name.
  package var description: String {
    let domainDigits = Swift.max(4, (UInt32.bitWidth - domain.leadingZeroBitCount + 3) / 4)
    return String(unsafeUninitializedCapacity: domainDigits + 8) { buffer in
      buffer.putHex(domain, digits: domainDigits, endingAt: domainDigits)
      buffer[domainDigits] = UInt8(ascii: ":")
      buffer.putHex(bus, digits: 2, endingAt: domainDigits + 3)
      buffer[domainDigits + 3] = UInt8(ascii: ":")
      buffer.putHex(device, digits: 2, endingAt: domainDigits + 6)
      buffer[domainDigits + 6] = UInt8(ascii: ".")
      buffer[domainDigits + 7] = 0x30 + function
      return domainDigits + 8
    }
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
      buffer.putHex(self, digits: count, endingAt: count)
      return count
    }
  }
}

extension UnsafeMutableBufferPointer<UInt8> {
  /// Writes the low `digits` hex digits of `value`, lower case, into the `digits` bytes
  /// that end just before `end`: the one digit loop behind `hex(width:)`, a BDF's name
  /// and `hex64`, each of which writes straight into a new string's buffer.
  func putHex(_ value: some FixedWidthInteger & UnsignedInteger, digits: Int, endingAt end: Int) {
    var rest = value
    for position in stride(from: end - 1, through: end - digits, by: -1) {
      let nibble = UInt8(truncatingIfNeeded: rest & 0xf)
      self[position] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
      rest >>= 4
    }
  }
}

extension UInt64 {
  /// The value of a non-empty run of hex digits (either case), from UTF-8 bytes, or nil
  /// if any byte is not one. Sixteen digits fit; callers bound the length (a BDF's
  /// fields, `0x` and at most 16 digits).
  init?(hexDigits digits: some Collection<UInt8>) {
    guard !digits.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in digits {
      let nibble: UInt8
      switch byte {
      case 0x30...0x39: nibble = byte - 0x30
      case 0x41...0x46: nibble = byte - 0x37
      case 0x61...0x66: nibble = byte - 0x57
      default: return nil
      }
      value = value << 4 | UInt64(nibble)
    }
    self = value
  }
}

extension UInt8 {
  var isHexDigit: Bool {
    (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
  }
}
