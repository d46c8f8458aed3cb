// hiodctl fuzzing — IOVA windows from raw arrays: the {start, last} records iommufd's
// IOMMU_IOAS_IOVA_RANGES and type1's IOVA_RANGE capability return, through normalised()
// and qemuAWBits(_:); and usableRanges(apertureEnd:excluding:), the sysfs predictor's cut
// of an aperture by reserved regions (which also arrive from snapshot JSON).
// Input: apertureEnd (u64 LE), a region count byte (low 4 bits), that many regions
// {start u64, end u64, type u8}, then {start u64, last u64} records to the end.
// Regions come as they are, reversed ones included (a hand-edited snapshot can hold one):
// a reversed region must cover nothing (it once split the aperture into overlapping
// windows; Tests/HostIOMMUTests/KernelABITests.aReversedRegionCoversNothing).
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

private let kinds: [ReservedRegion.Kind] = [.direct, .directRelaxable, .reserved, .msi, .init(rawValue: "other")]

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  var reader = ByteReader(bytes(data, size))
  let apertureEnd = reader.read(UInt64.self)
  let regionCount = Int(reader.read(UInt8.self) & 0x0f)
  var regions: [ReservedRegion] = []
  for _ in 0..<regionCount where !reader.isEmpty {
    let start = reader.read(UInt64.self)
    let end = reader.read(UInt64.self)
    regions.append(
      ReservedRegion(start: start, end: end, type: kinds[Int(reader.read(UInt8.self)) % kinds.count]))
  }
  var ranges: [IOVARange] = []
  while !reader.isEmpty {
    ranges.append(IOVARange(start: reader.read(UInt64.self), last: reader.read(UInt64.self)))
  }

  // normalised(): the same ranges, sorted, one problem per reversed range and per overlap.
  let (sorted, problems) = ranges.normalised()
  require(sorted.count == ranges.count && sorted == ranges.sorted(), "normalised() lost, invented or misordered ranges")
  let reversed = ranges.filter { $0.start > $0.last }.count
  let overlaps = zip(sorted, sorted.dropFirst()).filter { $1.start <= $0.last }.count
  require(
    problems.count == reversed + overlaps,
    "\(problems.count) problems for \(reversed) reversed and \(overlaps) overlapping ranges")

  // qemuAWBits: 64 without ranges, else the bit width of the last range's end.
  let awBits = qemuAWBits(sorted)
  require((1...64).contains(awBits), "qemuAWBits \(awBits) outside 1...64")
  if let last = sorted.last?.last {
    let width = last == 0 ? 1 : UInt64.bitWidth - last.leadingZeroBitCount
    require(awBits == width, "qemuAWBits \(awBits) for a last address \(last.hex64)")
  } else {
    require(awBits == awBitsMax, "qemuAWBits of no ranges is \(awBits)")
  }

  // usableRanges: sound windows for any regions; reversed ones cover nothing.
  let usable = usableRanges(apertureEnd: apertureEnd, excluding: regions)
  let wellFormed = regions.filter { $0.start <= $0.end }
  require(
    usable == usableRanges(apertureEnd: apertureEnd, excluding: wellFormed),
    "a reversed region changed the usable windows")
  checkUsableRanges(
    usable, apertureEnd: apertureEnd, excluding: wellFormed,
    context:
      "usableRanges(\(apertureEnd.hex64), \(regions.map { "\($0.start.hex64)-\($0.end.hex64) \($0.type.rawValue)" }))")
  require(usable.normalised().problems.isEmpty, "usable windows are not normalised")
  return 0
}
