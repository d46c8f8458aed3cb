// hiodctl fuzzing — Type1InfoParser.parse(_:): the VFIO_IOMMU_GET_INFO answer (struct
// vfio_iommu_type1_info and its capability chain) from raw bytes, and what the legacy
// backend does with it next (normalised(), qemuAWBits). Checks that the parser never reports
// more than the buffer can hold, that flags govern what is reported, that a chain with more
// links than the buffer has room for is reported as a problem, and the normalisation's own
// invariants.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let buffer = bytes(data, size)
  let info = Type1InfoParser.parse(buffer)

  guard buffer.count >= 16 else {
    require(info.problems.count == 1 && info.iovaRanges == nil && info.pageSizes == nil, "short buffer not refused")
    return 0
  }
  let flags = buffer.loadLittleEndian(UInt32.self, at: 4)
  require(info.flags == flags, "flags \(info.flags) read as something else than \(flags)")
  require(
    (info.pageSizes != nil) == (flags & UInt32(HIOD_VFIO_IOMMU_INFO_PGSIZES) != 0),
    "page sizes reported against the PGSIZES flag")
  if flags & UInt32(HIOD_VFIO_IOMMU_INFO_CAPS) == 0 || buffer.count < Type1InfoParser.headerSize {
    require(
      info.iovaRanges == nil && info.dmaAvailable == nil && !info.migration,
      "capabilities reported without CAPS or without room for cap_offset")
  }

  // Each capability's ranges lie inside the buffer past its 16-byte header, and the walk
  // visits at most maximumCapabilities capabilities.
  let perCapability = max(0, (buffer.count - Type1InfoParser.headerSize - 16) / 16)
  let ranges = info.iovaRanges ?? []
  require(
    ranges.count <= Type1InfoParser.maximumCapabilities * perCapability,
    "\(ranges.count) ranges from a \(buffer.count)-byte buffer")
  require(info.problems.count <= Type1InfoParser.maximumCapabilities + 2, "\(info.problems.count) problems")

  // What LegacyVFIO does next.
  let (sorted, rangeProblems) = ranges.normalised()
  require(sorted.count == ranges.count && sorted.sorted() == ranges.sorted(), "normalised() lost or invented ranges")
  require(zip(sorted, sorted.dropFirst()).allSatisfy { $0 <= $1 }, "normalised() is not sorted")
  let reversed = ranges.filter { $0.start > $0.last }.count
  let overlaps = zip(sorted, sorted.dropFirst()).filter { $1.start <= $0.last }.count
  require(
    rangeProblems.count == reversed + overlaps,
    "\(rangeProblems.count) problems for \(reversed) reversed and \(overlaps) overlapping ranges")
  let awBits = qemuAWBits(sorted)
  require((1...64).contains(awBits), "qemuAWBits \(awBits) outside 1...64")
  if let last = sorted.last {
    require(
      last.last >> UInt64(awBits - 1) == 1 || (last.last == 0 && awBits == 1),
      "qemuAWBits \(awBits) is not the width of \(last.last.hex64)")
  } else {
    require(awBits == 64, "qemuAWBits of no ranges is \(awBits), QEMU says 64")
  }
  return 0
}
