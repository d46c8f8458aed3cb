// hiodctl — usable IOVA windows and QEMU's address-width rule.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A usable IOVA window, both ends inclusive.
///
/// The type1 `IOVA_RANGE` capability reports `{start, end}` and iommufd's
/// `IOMMU_IOAS_IOVA_RANGES` reports `{start, last}`; both mean the same and are
/// normalised into this one type (as the kernel's VFIO selftests do).
package struct IOVARange: Hashable, Sendable, Comparable {
  package var start: UInt64
  package var last: UInt64

  package init(start: UInt64, last: UInt64) {
    self.start = start
    self.last = last
  }

  package static func < (lhs: IOVARange, rhs: IOVARange) -> Bool {
    (lhs.start, lhs.last) < (rhs.start, rhs.last)
  }
}

extension IOVARange: CustomStringConvertible {
  /// `0x00000000fef00000-0x0000007fffffffff`.
  package var description: String { "\(start.hex64)-\(last.hex64)" }
}

/// QEMU's `HOST_IOMMU_DEVICE_CAP_AW_BITS_MAX`: the width reported without ranges.
package let awBitsMax = 64

/// The host IOMMU address width exactly as QEMU computes it
/// (`vfio_device_get_aw_bits`): the last usable range's inclusive end, position of its
/// highest set bit plus one; 64 when the kernel reports no ranges. Ranges must be in
/// ascending order, as QEMU keeps them.
package func qemuAWBits(_ ranges: [IOVARange]) -> Int {
  guard let last = ranges.last else { return awBitsMax }
  return last.last == 0 ? 1 : 64 - last.last.leadingZeroBitCount
}

extension Array where Element == IOVARange {
  /// Sorted, with a problem noted for every overlap or reversed range (the checks the
  /// VFIO selftests make on what the kernel returns). The ranges are kept either way.
  func normalised() -> (ranges: [IOVARange], problems: [String]) {
    var problems: [String] = []
    for range in self where range.start > range.last {
      problems.append("IOVA range \(range) ends before it starts")
    }
    let sorted = self.sorted()
    for (previous, next) in zip(sorted, sorted.dropFirst()) where next.start <= previous.last {
      problems.append("IOVA ranges \(previous) and \(next) overlap")
    }
    return (sorted, problems)
  }
}

/// The usable windows of an aperture `[0, apertureEnd]` once the reserved regions the
/// kernel excludes are cut out: every type except `direct-relaxable`, as both type1
/// (`vfio_iommu_resv_exclude`) and iommufd (`iopt_table_enforce_dev_resv_regions`) do.
package func usableRanges(apertureEnd: UInt64, excluding regions: [ReservedRegion]) -> [IOVARange] {
  // A reversed region (start > end) covers nothing; the sysfs parser never makes one,
  // but a hand-edited snapshot can.
  let holes = regions.filter {
    $0.type != .directRelaxable && $0.start <= $0.end && $0.start <= apertureEnd
  }
  .map { IOVARange(start: $0.start, last: Swift.min($0.end, apertureEnd)) }
  .sorted()
  var ranges: [IOVARange] = []
  var cursor: UInt64? = 0  // nil once the aperture is used up
  for hole in holes {
    guard let start = cursor else { break }
    if hole.start > start { ranges.append(IOVARange(start: start, last: hole.start - 1)) }
    if hole.last >= start {
      cursor = hole.last == apertureEnd ? nil : hole.last + 1
    }
  }
  if let start = cursor { ranges.append(IOVARange(start: start, last: apertureEnd)) }
  return ranges
}

/// Page sizes as a bitmap (`0x40201000` = 4K | 2M | 1G), printed the way people read them.
package func pageSizeNames(_ mask: UInt64) -> [String] {
  (0..<64).compactMap { bit -> String? in
    guard mask & (1 << UInt64(bit)) != 0 else { return nil }
    switch bit {
    case 0..<10: return "\(1 << bit)"
    case 10..<20: return "\(1 << (bit - 10))K"
    case 20..<30: return "\(1 << (bit - 20))M"
    case 30..<40: return "\(1 << (bit - 30))G"
    case 40..<50: return "\(1 << (bit - 40))T"
    default: return "2^\(bit)"
    }
  }
}
