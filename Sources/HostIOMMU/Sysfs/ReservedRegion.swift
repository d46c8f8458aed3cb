// hiodctl — /sys/kernel/iommu_groups/N/reserved_regions.
// SPDX-License-Identifier: GPL-2.0-or-later

/// An IOVA window the IOMMU will not map for devices of a group: the MSI doorbell,
/// firmware-owned RMRR/IVMD memory, the IOAPIC range.
///
/// The file format is one `0x%016llx 0x%016llx %s` line per region: start, inclusive
/// end, type (Documentation/ABI/testing/sysfs-kernel-iommu_groups).
package struct ReservedRegion: Hashable, Sendable {
  package var start: UInt64
  /// Inclusive, as the kernel prints it.
  package var end: UInt64
  package var type: Kind

  /// The kernel's region types; others are kept verbatim (the set has grown before).
  package struct Kind: RawRepresentable, Hashable, Sendable {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    /// Identity-mapped firmware memory (RMRR, IVMD) the device keeps using.
    package static let direct = Kind(rawValue: "direct")
    /// Like `direct`, but may be dropped when the device is assigned (USB, GFX RMRRs);
    /// VFIO does not exclude these from the IOVA space.
    package static let directRelaxable = Kind(rawValue: "direct-relaxable")
    /// Never usable for DMA.
    package static let reserved = Kind(rawValue: "reserved")
    /// The MSI doorbell window (hardware or software MSI).
    package static let msi = Kind(rawValue: "msi")
  }

  package init(start: UInt64, end: UInt64, type: Kind) {
    self.start = start
    self.end = end
    self.type = type
  }

  /// Parses the whole file. Lines that do not parse are reported (1-based line number
  /// and text) and skipped; the rest are kept, so one bad line does not hide the others.
  package static func parseFile(_ text: String) -> (regions: [ReservedRegion], problems: [String]) {
    var regions: [ReservedRegion] = []
    var problems: [String] = []
    var number = 0
    for bytes in text.utf8.split(separator: 0x0a, omittingEmptySubsequences: false) {
      let line = Substring(bytes)
      number += 1
      if line.utf8.allSatisfy(\.isASCIIWhitespace) { continue }
      if let region = parseLine(line) {
        regions.append(region)
      } else {
        let shown = line.count > 80 ? line.prefix(80) + "…" : line
        problems.append("line \(number) is not 'START END TYPE': '\(shown)'")
      }
    }
    return (regions, problems)
  }

  /// Parses one `0xSTART 0xEND TYPE` line. Works on the UTF-8 bytes in place: the file
  /// is ASCII when sane, and this runs once per group (thousands on SR-IOV hosts).
  package static func parseLine(_ line: Substring) -> ReservedRegion? {
    var line = line
    return line.withUTF8(parseLine)
  }

  private static func parseLine(_ bytes: UnsafeBufferPointer<UInt8>) -> ReservedRegion? {
    // Exactly three fields between runs of ASCII whitespace.
    var fields: [Range<Int>] = []
    var index = 0
    while index < bytes.count {
      while index < bytes.count, bytes[index].isASCIIWhitespace { index += 1 }
      guard index < bytes.count else { break }
      let start = index
      while index < bytes.count, !bytes[index].isASCIIWhitespace { index += 1 }
      guard fields.count < 3 else { return nil }
      fields.append(start..<index)
    }
    guard fields.count == 3,
      let start = UInt64(hexPrefixed: bytes[fields[0]]),
      let end = UInt64(hexPrefixed: bytes[fields[1]]),
      start <= end,
      bytes[fields[2]].allSatisfy({ (0x21...0x7e).contains($0) })
    else { return nil }
    return ReservedRegion(
      start: start, end: end, type: Kind(rawValue: String(decoding: bytes[fields[2]], as: UTF8.self)))
  }
}

extension UInt64 {
  /// `0x…` with 1–16 hex digits.
  init?(hexPrefixed text: Substring) {
    self.init(hexPrefixed: text.utf8)
  }

  /// `0x…` with 1–16 hex digits (either case), from UTF-8 bytes.
  init?<Bytes: Collection<UInt8>>(hexPrefixed bytes: Bytes) {
    guard bytes.count >= 3, bytes.count <= 18, bytes.first == 0x30 else { return nil }
    let marker = bytes[bytes.index(after: bytes.startIndex)]
    guard marker == 0x78 || marker == 0x58 else { return nil }  // x, X
    // On the bytes, as a BDF's fields are: a String round trip for init(_:radix:) was
    // most of parsing a reserved_regions line.
    self.init(hexDigits: bytes.dropFirst(2))
  }

  /// Parses bare hex as sysfs prints registers (`%llx`, no `0x`); tolerates a `0x`.
  init?(registerText text: Substring) {
    let trimmed = text.trimmingWhitespace()
    let digits = trimmed.hasPrefix("0x") ? trimmed.dropFirst(2) : trimmed
    guard digits.count <= 16 else { return nil }
    self.init(hex: digits)
  }

  /// `0x` and sixteen digits: how hiodctl prints addresses and 64-bit registers.
  /// Written in one piece: two per reserved region of every group in `--json list`.
  package var hex64: String {
    String(unsafeUninitializedCapacity: 18) { buffer in
      buffer[0] = UInt8(ascii: "0")
      buffer[1] = UInt8(ascii: "x")
      buffer.putHex(self, digits: 16, endingAt: 18)
      return 18
    }
  }
}

extension StringProtocol {
  /// The text without leading and trailing ASCII whitespace (what sysfs pads with).
  func trimmingWhitespace() -> SubSequence {
    let bytes = utf8
    guard let first = bytes.firstIndex(where: { !$0.isASCIIWhitespace }) else {
      return self[endIndex...]
    }
    var last = first
    var position = first
    while position != bytes.endIndex {
      if !bytes[position].isASCIIWhitespace { last = position }
      position = bytes.index(after: position)
    }
    return self[first...last]
  }
}

extension UInt8 {
  /// Space, tab, newline, vertical tab, form feed, carriage return.
  var isASCIIWhitespace: Bool { self == 0x20 || (0x09...0x0d).contains(self) }
}
