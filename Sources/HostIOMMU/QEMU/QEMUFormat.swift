// hiodctl — QEMU's printf-style format strings, filled in the way QEMU fills them.
// SPDX-License-Identifier: GPL-2.0-or-later

/// One argument of a QEMU format string.
enum FormatArgument: Sendable, Hashable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
  case int(Int64)
  case uint(UInt64)
  case string(String)
  /// A value only the QEMU process knows (a file descriptor, a pointer): printed as
  /// `<name>` and matched as a number by whoever compares the message with QEMU's.
  case placeholder(String)

  init(integerLiteral value: Int) { self = .int(Int64(value)) }
  init(stringLiteral value: String) { self = .string(value) }

  static func of(_ value: Int) -> FormatArgument { .int(Int64(value)) }
  static func of(_ value: UInt64) -> FormatArgument { .uint(value) }
}

/// The placeholders hiodctl writes for values a QEMU process invents.
package enum MessagePlaceholder {
  /// A file descriptor number (`error bind device fd=<fd> to iommufd=<fd>`).
  package static let fileDescriptor = "<fd>"
  /// A host pointer (`vfio_container_dma_map(<ptr>, …)`).
  package static let pointer = "<ptr>"
  /// An object id the kernel allocates (`to id=<id>`).
  package static let objectID = "<id>"
}

enum QEMUFormat {
  /// `format` with its conversions replaced by `arguments`, in order: `%d %i %u %x %X %s
  /// %p %%`, with `0`/width flags and `h`/`hh`/`l`/`ll`/`z` length modifiers, as C's printf
  /// (glibc's snprintf is the tests' oracle). `%p` takes a placeholder. Missing arguments
  /// print nothing; extra ones are ignored; `-` and `#` are read and ignored.
  ///
  /// The formats are QEMU's ASCII strings (a test holds the rule table to that), so the
  /// fill walks their UTF-8 bytes: Character by Character it was 6% of `export`'s
  /// instructions on a host with 4096 functions, and a walk of `Substring.UTF8View`
  /// still cost four times more than the bytes.
  static func fill(_ format: String, _ arguments: [FormatArgument]) -> String {
    var format = format
    return format.withUTF8 { fill($0, arguments) }
  }

  private static func fill(_ bytes: UnsafeBufferPointer<UInt8>, _ arguments: [FormatArgument]) -> String {
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count + 32)
    var remaining = arguments[...]
    var index = 0
    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
    while index < bytes.count {
      let run = index
      while index < bytes.count, bytes[index] != UInt8(ascii: "%") { index += 1 }
      output += UnsafeBufferPointer(rebasing: bytes[run..<index])
      guard index < bytes.count else { break }
      index += 1
      if peek() == UInt8(ascii: "%") {
        index += 1
        output.append(UInt8(ascii: "%"))
        continue
      }
      var zeroPad = false
      var width = 0
      while let flag = peek(), flag == UInt8(ascii: "0") || flag == UInt8(ascii: "-") || flag == UInt8(ascii: "#") {
        if flag == UInt8(ascii: "0") { zeroPad = true }
        index += 1
      }
      while let digit = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) {
        width = width * 10 + Int(digit - UInt8(ascii: "0"))
        index += 1
      }
      // C's length modifiers (h hh l ll z j t): every integer argument here is 64 bits already.
      while let modifier = peek(),
        modifier == UInt8(ascii: "h") || modifier == UInt8(ascii: "l")
          || modifier == UInt8(ascii: "z") || modifier == UInt8(ascii: "j") || modifier == UInt8(ascii: "t")
      {
        index += 1
      }
      guard let conversion = peek() else { break }
      index += 1
      let argument = remaining.popFirst()
      let text: String
      switch (conversion, argument) {
      case (_, .placeholder(let name)?): text = name
      case (UInt8(ascii: "x"), .int(let value)?): text = String(UInt64(bitPattern: value), radix: 16)
      case (UInt8(ascii: "x"), .uint(let value)?): text = String(value, radix: 16)
      case (UInt8(ascii: "X"), .int(let value)?): text = String(UInt64(bitPattern: value), radix: 16, uppercase: true)
      case (UInt8(ascii: "X"), .uint(let value)?): text = String(value, radix: 16, uppercase: true)
      case (_, .string(let value)?): text = value
      case (_, .int(let value)?): text = String(value)
      case (_, .uint(let value)?): text = String(value)
      case (_, nil): text = ""
      }
      let shortBy = width == 0 ? 0 : width - text.count
      guard shortBy > 0 else {
        output += text.utf8
        continue
      }
      if zeroPad, case .int? = argument, text.utf8.first == UInt8(ascii: "-") {
        // C pads a negative number after its sign: %05d of -42 is -0042.
        output.append(UInt8(ascii: "-"))
        output += repeatElement(UInt8(ascii: "0"), count: shortBy)
        output += text.utf8.dropFirst()
      } else {
        output += repeatElement(zeroPad ? UInt8(ascii: "0") : UInt8(ascii: " "), count: shortBy)
        output += text.utf8
      }
    }
    return String(decoding: output, as: UTF8.self)
  }
}
