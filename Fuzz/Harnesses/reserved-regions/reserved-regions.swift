// hiodctl fuzzing — ReservedRegion.parseFile(_:): /sys/kernel/iommu_groups/N/reserved_regions.
// Checks that every kept region is well formed, that problems and regions account for every
// non-blank line, that the kernel's own format of the regions parses back to the same
// regions, and that cutting them out of an aperture (usableRanges) leaves sound windows.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = text(data, size)
  let (regions, problems) = ReservedRegion.parseFile(input)

  // Lines are split at "\n" bytes; a line of ASCII whitespace only (space, \t \n \v \f \r)
  // is blank and neither a region nor a problem.
  let lines = Array(input.utf8).split(separator: 0x0a, omittingEmptySubsequences: false)
  let nonBlank = lines.filter { !$0.allSatisfy { $0 == 0x20 || (0x09...0x0d).contains($0) } }.count
  require(
    regions.count + problems.count == nonBlank,
    "\(regions.count) regions + \(problems.count) problems for \(nonBlank) non-blank lines")
  for region in regions {
    require(region.start <= region.end, "region \(region) ends before it starts")
    require(
      !region.type.rawValue.isEmpty && region.type.rawValue.utf8.allSatisfy { (0x21...0x7e).contains($0) },
      "region type '\(region.type.rawValue)' is not printable ASCII without spaces")
  }

  // The kernel's format: "0x%016llx 0x%016llx %s\n".
  let printed = regions.map { "\($0.start.hex64) \($0.end.hex64) \($0.type.rawValue)\n" }.joined()
  let reparsed = ReservedRegion.parseFile(printed)
  require(reparsed.problems.isEmpty, "the kernel format of the regions has problems: \(reparsed.problems)")
  require(reparsed.regions == regions, "regions do not round-trip through the kernel format")

  // What the sysfs predictor does with them: the aperture minus the regions.
  let apertures: [UInt64] = [.max, (1 << 48) - 1, (1 << 39) - 1, 0xffff_ffff, 0] + regions.map(\.end)
  for apertureEnd in apertures.prefix(8) {
    let usable = usableRanges(apertureEnd: apertureEnd, excluding: regions)
    checkUsableRanges(usable, apertureEnd: apertureEnd, excluding: regions, context: "aperture \(apertureEnd.hex64)")
    let awBits = qemuAWBits(usable)
    require((1...64).contains(awBits), "qemuAWBits \(awBits) outside 1...64")
  }
  return 0
}
