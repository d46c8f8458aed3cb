// hiodctl fuzzing — invariants of the domain values several harnesses produce: decoded
// register fields, and IOVA windows cut out of an aperture.
// SPDX-License-Identifier: GPL-2.0-or-later

package import HostIOMMU

/// What every decoder's `fields` promises for one register (`width` bits, value `raw`):
/// positions inside the register, in ascending bit order without overlap, each value the
/// register's bits at that position, and `bits` spelled as the specs write it. Returns the
/// union of the fields' masks, for an undecoded-bits check.
@discardableResult
package func checkFields(_ fields: [DecodedField], of raw: UInt64, width: Int, register: String) -> UInt64 {
  var covered: UInt64 = 0
  var previousHigh = -1
  var names: Set<String> = []
  for field in fields {
    let location = "\(register) field \(field.name) [\(field.bits)]"
    require(!field.name.isEmpty && !field.meaning.isEmpty, "\(location): empty name or meaning")
    require(names.insert(field.name).inserted, "\(location): name listed twice")
    require(
      field.lowBit >= 0 && field.lowBit <= field.highBit && field.highBit < width,
      "\(location): bits outside the \(width)-bit register")
    require(field.lowBit > previousHigh, "\(location): not in ascending bit order or overlaps the previous field")
    previousHigh = field.highBit
    let expectedBits = field.lowBit == field.highBit ? "\(field.lowBit)" : "\(field.highBit):\(field.lowBit)"
    require(field.bits == expectedBits, "\(location): bits spelled '\(field.bits)', expected '\(expectedBits)'")
    let count = field.highBit - field.lowBit + 1
    let ones: UInt64 = count == 64 ? .max : (1 << UInt64(count)) - 1
    require(
      field.mask == ones << UInt64(field.lowBit), "\(location): mask \(field.mask.hex64) is not bits \(field.bits)")
    require(field.value <= ones, "\(location): value \(field.value) wider than the field")
    require(
      field.valueInPlace == raw & field.mask,
      "\(location): value \(field.value) is not the register's bits \(raw.hex64)")
    covered |= field.mask
  }
  return covered
}

/// `usableRanges(apertureEnd:excluding:)` as the kernel cuts the aperture: ascending,
/// disjoint and not adjacent windows inside [0, apertureEnd], none touching an excluded
/// region, and together with the excluded regions covering the whole aperture.
package func checkUsableRanges(
  _ ranges: [IOVARange], apertureEnd: UInt64, excluding regions: [ReservedRegion], context: @autoclosure () -> String
) {
  let holes = regions.filter { $0.type != .directRelaxable }
  for (index, range) in ranges.enumerated() {
    require(range.start <= range.last, "\(context()): window \(range) ends before it starts")
    require(range.last <= apertureEnd, "\(context()): window \(range) beyond the aperture end \(apertureEnd.hex64)")
    if index > 0 {
      let previous = ranges[index - 1]
      require(
        previous.last < range.start && range.start - previous.last > 1,
        "\(context()): windows \(previous) and \(range) overlap, touch or are out of order")
    }
    for hole in holes where hole.start <= hole.end {
      require(
        hole.end < range.start || hole.start > range.last,
        """
        \(context()): window \(range) overlaps the excluded \(hole.type.rawValue) region \
        \(hole.start.hex64)-\(hole.end.hex64)
        """
      )
    }
  }
  // Every address of the aperture is in a window or in an excluded region: walk the gaps
  // between windows and check each is covered by the (sorted, merged) holes.
  var gaps: [(UInt64, UInt64)] = []
  var cursor: UInt64? = 0
  for range in ranges {
    guard let start = cursor else { break }
    if range.start > start { gaps.append((start, range.start - 1)) }
    cursor = range.last == .max ? nil : range.last + 1
  }
  if let start = cursor, start <= apertureEnd { gaps.append((start, apertureEnd)) }
  let sortedHoles = holes.filter { $0.start <= $0.end }.sorted { ($0.start, $0.end) < ($1.start, $1.end) }
  for (gapStart, gapEnd) in gaps {
    var covered: UInt64? = gapStart  // the first address of the gap not yet covered
    for hole in sortedHoles {
      guard let next = covered, next <= gapEnd else { break }
      if hole.start <= next && hole.end >= next {
        covered = hole.end >= gapEnd ? nil : hole.end + 1
      }
    }
    if let next = covered {
      require(
        next > gapEnd,
        "\(context()): address \(next.hex64) of the aperture is neither usable nor in an excluded region")
    }
  }
}
