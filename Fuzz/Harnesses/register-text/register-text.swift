// hiodctl fuzzing — UInt64(registerText:) (sysfs registers, "%llx\n") and
// UInt64(hexPrefixed:) (reserved_regions fields, "0x%016llx"), each against a plain
// restatement of its documented grammar, and both against their own printed values; and
// hex(width:), the printer of every address, ID and register, against String(_:radix:).
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

/// 1–16 ASCII hex digits, nothing else; the value, or nil.
private func referenceHex(_ bytes: ArraySlice<UInt8>) -> UInt64? {
  guard (1...16).contains(bytes.count) else { return nil }
  var value: UInt64 = 0
  for byte in bytes {
    let digit: UInt64
    switch byte {
    case 0x30...0x39: digit = UInt64(byte - 0x30)
    case 0x41...0x46: digit = UInt64(byte - 0x41 + 10)
    case 0x61...0x66: digit = UInt64(byte - 0x61 + 10)
    default: return nil
    }
    value = value << 4 | digit
  }
  return value
}

/// Space, \t, \n, \v, \f, \r: what sysfs pads with.
private func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }

/// `String(value, radix: 16)` zero-padded to `width`: what `hex(width:)` promises.
private func referencePadded(_ value: some BinaryInteger, _ width: Int) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let raw = bytes(data, size)
  let input = text(data, size)[...]

  // hexPrefixed: "0x" or "0X", then 1–16 hex digits.
  let utf8 = Array(input.utf8)
  let prefixed = UInt64(hexPrefixed: input)
  let expectedPrefixed =
    utf8.count >= 2 && utf8[0] == 0x30 && (utf8[1] == 0x78 || utf8[1] == 0x58) ? referenceHex(utf8.dropFirst(2)) : nil
  require(
    prefixed == expectedPrefixed,
    """
    hexPrefixed(\(input.debugDescription)) = \(String(describing: prefixed)), \
    grammar says \(String(describing: expectedPrefixed))
    """
  )

  // registerText: surrounding ASCII whitespace trimmed, an optional "0x", 1–16 hex digits.
  let register = UInt64(registerText: input)
  let first = utf8.firstIndex { !isBlank($0) } ?? utf8.count
  let last = utf8.lastIndex { !isBlank($0) } ?? -1
  let trimmed = first <= last ? utf8[first...last] : []
  let expectedRegister = referenceHex(trimmed.starts(with: [0x30, 0x78]) ? trimmed.dropFirst(2) : trimmed)
  require(
    register == expectedRegister,
    """
    registerText(\(input.debugDescription)) = \(String(describing: register)), \
    grammar says \(String(describing: expectedRegister))
    """
  )

  // Whatever parses, printed the way the kernel and hiodctl print it, parses back.
  for value in [prefixed, register].compactMap({ $0 }) {
    require(UInt64(hexPrefixed: value.hex64[...]) == value, "\(value.hex64) does not round-trip through hexPrefixed")
    require(
      UInt64(registerText: "\(String(value, radix: 16))\n"[...]) == value,
      "\(value) does not round-trip through registerText")
  }

  // hex(width:), which prints every address, ID and register: the input's first bytes as
  // numbers of each width, padded to every width up to 20.
  var reader = ByteReader(raw)
  let value = reader.read(UInt64.self)
  for width in -1...20 {
    require(
      value.hex(width: width) == referencePadded(value, width),
      "\(value).hex(width: \(width)) = \(value.hex(width: width))")
    let small = UInt8(truncatingIfNeeded: value)
    require(
      small.hex(width: width) == referencePadded(small, width),
      "UInt8 \(small).hex(width: \(width)) = \(small.hex(width: width))")
    let half = UInt32(truncatingIfNeeded: value)
    require(
      half.hex(width: width) == referencePadded(half, width),
      "UInt32 \(half).hex(width: \(width)) = \(half.hex(width: width))")
  }
  return 0
}
