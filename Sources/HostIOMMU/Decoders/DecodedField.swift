// hiodctl — one named bit field of a vendor IOMMU register, and the bit arithmetic the
// register decoders (VT-d CAP/ECAP, SMMUv3 IDRs, AMD EFR) share.
// SPDX-License-Identifier: GPL-2.0-or-later

/// One named bit field of a register, for display and JSON.
///
/// The decoders list every field they know (from the Linux and QEMU headers their files
/// cite), whatever its value, so a reader sees "NEST 26 0 nested translation not supported"
/// rather than having to notice that a line is missing.
package struct DecodedField: Hashable, Sendable {
  /// The spec/Linux name, e.g. "MGAW", "SAGAW", "FS1GP", or "IDR0.STLEVEL" where one
  /// decoder covers several registers.
  package let name: String
  /// The bit position as the specs write it: "21:16" (high:low, inclusive) or "56".
  package let bits: String
  /// The lowest bit of the field.
  package let lowBit: Int
  /// The highest bit of the field (equal to `lowBit` for a one-bit flag).
  package let highBit: Int
  /// The raw field value, shifted down to bit 0.
  package let value: UInt64
  /// Short human text: "39-bit max guest address width", "supported", "2-level stream table".
  package let meaning: String

  /// A field occupying `bitRange` (inclusive, bit 0 = least significant).
  package init(name: String, bitRange: ClosedRange<Int>, value: UInt64, meaning: String) {
    self.name = name
    self.lowBit = bitRange.lowerBound
    self.highBit = bitRange.upperBound
    self.bits = bitRange.count == 1 ? "\(lowBit)" : "\(highBit):\(lowBit)"
    self.value = value
    self.meaning = meaning
  }

  /// The field's bits in place within the register (`value << lowBit`, masked); zero for
  /// positions outside a 64-bit register, so a malformed field cannot trap.
  package var mask: UInt64 {
    BitRange(highBit, lowBit).mask
  }

  /// The field's value put back at its position in the register.
  package var valueInPlace: UInt64 {
    (value &<< UInt64(clamping: max(lowBit, 0))) & mask
  }
}

/// A decoded register (or register set) that can list its fields.
package protocol RegisterDecoding: Sendable {
  /// Every named field, in ascending bit order (grouped by register where there are
  /// several), whatever the field's value.
  var fields: [DecodedField] { get }
}

/// A contiguous run of bits, `high:low` inclusive, as the specs and Linux's `GENMASK`
/// write them. The decoders declare each field's position once as one of these and use it
/// both for the typed accessor and for the `DecodedField`, so the two cannot disagree.
struct BitRange: Hashable, Sendable {
  let high: Int
  let low: Int

  init(_ high: Int, _ low: Int) {
    self.high = high
    self.low = low
  }

  /// A one-bit field.
  init(bit: Int) {
    self.init(bit, bit)
  }

  /// Number of bits; 0 for a reversed or out-of-range declaration.
  var width: Int {
    guard low >= 0, high >= low, high < 64 else { return 0 }
    return high - low + 1
  }

  /// The field's bits in place. Masking shifts (`&<<`) keep this total.
  var mask: UInt64 {
    let width = width
    guard width > 0 else { return 0 }
    let ones: UInt64 = width == 64 ? .max : (1 &<< UInt64(width)) &- 1
    return ones &<< UInt64(low)
  }

  /// The field's value shifted down to bit 0.
  func value(in raw: UInt64) -> UInt64 {
    guard width > 0 else { return 0 }
    return (raw & mask) &>> UInt64(low)
  }

  /// Whether any bit of the field is set (for one-bit flags: the flag).
  func isSet(in raw: UInt64) -> Bool {
    raw & mask != 0
  }

  /// The same positions as the public `DecodedField` spells them.
  var closedRange: ClosedRange<Int> {
    width > 0 ? low...high : 0...0
  }
}

extension DecodedField {
  /// A multi-bit field whose meaning the caller has worded from the decoded value.
  init(_ name: String, _ range: BitRange, in raw: UInt64, _ meaning: String) {
    self.init(name: name, bitRange: range.closedRange, value: range.value(in: raw), meaning: meaning)
  }

  /// A one-bit capability flag: "<feature> supported" or "<feature> not supported".
  static func flag(_ name: String, _ range: BitRange, in raw: UInt64, _ feature: String) -> DecodedField {
    let meaning = range.isSet(in: raw) ? "\(feature) supported" : "\(feature) not supported"
    return DecodedField(name, range, in: raw, meaning)
  }

  /// A one-bit field whose two states need their own words (a mode rather than a feature).
  static func flag(
    _ name: String, _ range: BitRange, in raw: UInt64, set: String, clear: String
  ) -> DecodedField {
    DecodedField(name, range, in: raw, range.isSet(in: raw) ? set : clear)
  }
}

extension Array where Element == DecodedField {
  /// The register bits no listed field covers: reserved, defined after the headers each
  /// decoder follows, or fields hiodctl does not decode. Shown so unknown set bits are not
  /// silently lost.
  func undecodedBits(of raw: UInt64) -> UInt64 {
    raw & ~reduce(0) { $0 | $1.mask }
  }
}

extension UInt64 {
  /// `0x` and the minimal number of lower-case hex digits: how field values such as
  /// register offsets read in the decoders' `meaning` text.
  var shortHex: String { "0x" + String(self, radix: 16) }
}

/// Decoded register fields, made once per distinct register value: every device behind
/// one IOMMU unit reports the unit's registers, and a snapshot of 4096 functions decoded
/// VT-d's CAP and ECAP (some ninety fields, each with a text of its own) 4096 times,
/// a ninth of the command's instructions. Decoding is a pure function of the register
/// words, so a value found here is the value decoding would give.
package enum DecodedFieldCache {
  /// Which decoder the words are for (the same words mean different fields to each).
  package enum Decoder: Hashable, Sendable {
    case intelCAP, intelECAP, smmuv3, amd
  }

  private struct Registers: Hashable {
    let decoder: Decoder
    let words: [UInt64]
  }

  /// Bounded by the distinct register values a run sees: a host has a few IOMMU units;
  /// a document read from elsewhere has at most one set per device, which it costs
  /// anyway to decode.
  private static let decoded = PThreadLocked<[Registers: [DecodedField]]>([:])

  /// The fields `decode` gives for `words`, decoded at most once per run (two threads
  /// asking at once may both decode; they get equal answers).
  package static func fields(
    _ decoder: Decoder, _ words: [UInt64], _ decode: () -> [DecodedField]
  ) -> [DecodedField] {
    let key = Registers(decoder: decoder, words: words)
    if let found = decoded.withLock({ $0[key] }) { return found }
    let fields = decode()
    decoded.withLock { $0[key] = fields }
    return fields
  }
}
