// hiodctl — paths are bytes: command-line arguments that are not UTF-8, carried in a
// String without loss and handed back to the kernel byte for byte.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // memchr

/// Linux paths and arguments are byte strings; Swift's `String` is Unicode. Decoding argv
/// with `String(cString:)` repairs invalid UTF-8 to U+FFFD, so `--sysroot $'/tmp/\xff'`
/// names a directory that does not exist and `-o $'out\xff'` writes another file.
///
/// `decode` keeps every byte instead: valid UTF-8 becomes its characters, and each byte
/// that is not part of valid UTF-8 becomes one *escape*, the code point U+10FF00 + byte
/// (the last 256 code points of plane 16, a private-use plane). The bytes of a genuine
/// U+10FF00…U+10FFFF in the input are escaped one by one too, so the mapping is
/// reversible for every input: `bytes(decode(b)) == b`.
///
/// The conversion back happens where a string leaves the program: `withCString` for the
/// system calls (Kernel/Syscalls.swift) and libpci's parameters, `bytes` for what is
/// written to a terminal (the user sees the bytes they typed). JSON cannot carry such
/// bytes; `jsonSafe` turns each escape into U+FFFD there.
package enum PathBytes {
  /// The first escape code point; the escape of byte `b` is `escapeBase + b`.
  static let escapeBase: UInt32 = 0x10_FF00

  /// Whether `scalar` is an escape (stands for one raw byte).
  static func isEscape(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= escapeBase }

  /// The string of `bytes`: UTF-8 where it is valid, one escape per other byte.
  package static func decode(_ bytes: some Collection<UInt8>) -> String {
    let bytes = Array(bytes)
    // The common case, valid UTF-8 without anything to escape, is decoded as usual.
    if !bytes.contains(where: { $0 >= 0x80 }) || (validScalars(bytes) != nil && !bytes.contains(0xF4)) {
      return String(decoding: bytes, as: UTF8.self)
    }
    var scalars = String.UnicodeScalarView()
    var index = 0
    while index < bytes.count {
      if let (scalar, length) = scalar(in: bytes, at: index), !isEscape(scalar) {
        scalars.append(scalar)
        index += length
      } else {
        scalars.append(Unicode.Scalar(escapeBase + UInt32(bytes[index]))!)
        index += 1
      }
    }
    return String(scalars)
  }

  /// The bytes `decode` was given: escapes back to their byte, the rest as UTF-8.
  package static func bytes(_ string: String) -> [UInt8] {
    guard mayContainEscapes(string) else { return Array(string.utf8) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(string.utf8.count)
    for scalar in string.unicodeScalars {
      if isEscape(scalar) {
        bytes.append(UInt8(scalar.value - escapeBase))
      } else {
        bytes.append(contentsOf: String(scalar).utf8)
      }
    }
    return bytes
  }

  /// Runs `body` with a NUL-terminated C string of the raw bytes of `string`. The pointer
  /// is valid only inside `body`.
  package static func withCString<Result, Failure: Error>(
    _ string: String, _ body: (UnsafePointer<CChar>) throws(Failure) -> Result
  ) throws(Failure) -> Result {
    // The common case: no escapes, so the string's own UTF-8 is the bytes (no copy; every
    // file hiodctl opens comes through here).
    if !mayContainEscapes(string) {
      // SAFETY: as below, with the string's own NUL-terminated UTF-8.
      return try string.withCString { pointer in
        do throws(Failure) {
          return Swift.Result<Result, Failure>.success(try body(pointer))
        } catch {
          return .failure(error)
        }
      }.get()
    }
    var raw = bytes(string)
    raw.append(0)
    // SAFETY: `raw` is NUL-terminated and outlives the closure; CChar and UInt8 have the
    // same size and alignment, and `body` must not keep the pointer.
    let outcome: Swift.Result<Result, Failure> = raw.withUnsafeBufferPointer { buffer in
      buffer.withMemoryRebound(to: CChar.self) { characters in
        do throws(Failure) {
          return .success(try body(characters.baseAddress!))
        } catch {
          return .failure(error)
        }
      }
    }
    return try outcome.get()
  }

  /// `string` with every escape shown as `\xNN`: for messages that must stay valid text.
  package static func displayed(_ string: String) -> String {
    guard mayContainEscapes(string) else { return string }
    var shown = String.UnicodeScalarView()
    for scalar in string.unicodeScalars {
      if isEscape(scalar) {
        shown.append(contentsOf: "\\x\(UInt8(scalar.value - escapeBase).hex(width: 2))".unicodeScalars)
      } else {
        shown.append(scalar)
      }
    }
    return String(shown)
  }

  /// UTF-8 text for a JSON document: each escape becomes U+FFFD, which JSON can carry.
  package static func jsonSafe(_ utf8: [UInt8]) -> [UInt8] {
    // An escape is F4 8F BC..BF xx in UTF-8; nothing else hiodctl writes starts with F4 8F.
    guard containsLeadF4(utf8) else { return utf8 }
    var output: [UInt8] = []
    output.reserveCapacity(utf8.count)
    var index = 0
    while index < utf8.count {
      if utf8[index] == 0xF4, index + 3 < utf8.count, utf8[index + 1] == 0x8F, (0xBC...0xBF).contains(utf8[index + 2]) {
        output += [0xEF, 0xBF, 0xBD]
        index += 4
      } else {
        output.append(utf8[index])
        index += 1
      }
    }
    return output
  }

  /// Whether `string` may hold an escape (its UTF-8 has a 0xF4 lead byte); cheap.
  static func mayContainEscapes(_ string: String) -> Bool {
    var string = string
    return string.withUTF8 { containsLeadF4($0) }
  }

  /// Whether `bytes` hold 0xF4, with memchr: outputs run to megabytes (a 4096-function
  /// `--json list`), and a byte loop costs a debug build a tenth of a second there.
  static func containsLeadF4(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { containsLeadF4($0) }
  }

  static func containsLeadF4(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return false }
    return memchr(base, 0xF4, bytes.count) != nil
  }

  /// The scalars of `bytes` if they are valid UTF-8, else nil.
  private static func validScalars(_ bytes: [UInt8]) -> Int? {
    var index = 0
    var count = 0
    while index < bytes.count {
      guard let (_, length) = scalar(in: bytes, at: index) else { return nil }
      index += length
      count += 1
    }
    return count
  }

  /// The UTF-8 sequence starting at `index` and its length, if it is a valid,
  /// shortest-form encoding of a scalar (no surrogates, nothing above U+10FFFF).
  static func scalar(in bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
    let lead = bytes[index]
    let length: Int
    var value: UInt32
    switch lead {
    case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
    case 0xC2...0xDF: (length, value) = (2, UInt32(lead & 0x1F))
    case 0xE0...0xEF: (length, value) = (3, UInt32(lead & 0x0F))
    case 0xF0...0xF4: (length, value) = (4, UInt32(lead & 0x07))
    default: return nil
    }
    guard index + length <= bytes.count else { return nil }
    for offset in 1..<length {
      let continuation = bytes[index + offset]
      guard continuation & 0xC0 == 0x80 else { return nil }
      value = value << 6 | UInt32(continuation & 0x3F)
    }
    let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
    guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
    return (scalar, length)
  }
}

extension PathBytes {
  /// The process's arguments without the program name, each decoded byte for byte
  /// (`CommandLine.arguments` repairs invalid UTF-8 to U+FFFD).
  package static func arguments() -> [String] {
    (1..<Int(CommandLine.argc)).map { position in
      guard let argument = CommandLine.unsafeArgv[position] else { return "" }
      var length = 0
      while argument[length] != 0 { length += 1 }
      // SAFETY: `argument` points at `length` initialised bytes before its NUL.
      return argument.withMemoryRebound(to: UInt8.self, capacity: length) {
        decode(UnsafeBufferPointer(start: $0, count: length))
      }
    }
  }
}
