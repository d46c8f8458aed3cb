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
  /// %p %%`, with `0`/width flags and `h`/`hh`/`l`/`ll`/`z` length modifiers, as C's printf.
  /// `%p` takes a placeholder. Missing arguments print nothing; extra ones are ignored.
  static func fill(_ format: String, _ arguments: [FormatArgument]) -> String {
    var output = ""
    var remaining = arguments[...]
    var characters = format[...]
    // Text between conversions is copied a run at a time (Character by Character was a
    // fifth of `export` on a host with thousands of VFIO devices). The formats are
    // QEMU's ASCII strings, where a UTF-8 '%' is always a whole Character.
    while !characters.isEmpty {
      guard let percent = characters.utf8.firstIndex(of: UInt8(ascii: "%")) else {
        output += characters
        break
      }
      output += characters[..<percent]
      characters = characters[characters.utf8.index(after: percent)...]
      if characters.first == "%" {
        characters.removeFirst()
        output.append("%")
        continue
      }
      var zeroPad = false
      var width = 0
      while let flag = characters.first, flag == "0" || flag == "-" || flag == "#" {
        if flag == "0" { zeroPad = true }
        characters.removeFirst()
      }
      while let digit = characters.first, let value = digit.wholeNumberValue {
        width = width * 10 + value
        characters.removeFirst()
      }
      while let modifier = characters.first, "hlzjt".contains(modifier) { characters.removeFirst() }
      guard let conversion = characters.popFirst() else { break }
      let argument = remaining.popFirst()
      var text: String
      switch (conversion, argument) {
      case (_, .placeholder(let name)?): text = name
      case ("d", .int(let value)?), ("i", .int(let value)?), ("u", .int(let value)?): text = String(value)
      case ("d", .uint(let value)?), ("i", .uint(let value)?), ("u", .uint(let value)?): text = String(value)
      case ("x", .int(let value)?): text = String(UInt64(bitPattern: value), radix: 16)
      case ("x", .uint(let value)?): text = String(value, radix: 16)
      case ("X", .int(let value)?): text = String(UInt64(bitPattern: value), radix: 16, uppercase: true)
      case ("X", .uint(let value)?): text = String(value, radix: 16, uppercase: true)
      case (_, .string(let value)?): text = value
      case (_, .int(let value)?): text = String(value)
      case (_, .uint(let value)?): text = String(value)
      case (_, nil): text = ""
      }
      if text.count < width {
        text = String(repeating: zeroPad ? "0" : " ", count: width - text.count) + text
      }
      output += text
    }
    return output
  }
}
