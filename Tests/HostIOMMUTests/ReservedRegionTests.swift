// hiodctl tests — parsing /sys/kernel/iommu_groups/N/reserved_regions.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU
import Testing

struct ReservedRegionTests {
  @Test func parsesTheKernelFormat() {
    let text = """
      0x0000000000000000 0x0000000000ffffff direct-relaxable
      0x00000000fee00000 0x00000000feefffff msi
      0x0000000008000000 0x00000000080fffff reserved

      """
    let parsed = ReservedRegion.parseFile(text)
    #expect(parsed.problems.isEmpty)
    #expect(
      parsed.regions == [
        ReservedRegion(start: 0, end: 0xff_ffff, type: .directRelaxable),
        ReservedRegion(start: 0xfee0_0000, end: 0xfeef_ffff, type: .msi),
        ReservedRegion(start: 0x800_0000, end: 0x80f_ffff, type: .reserved),
      ])
  }

  @Test func emptyFileMeansNoRegions() {
    let parsed = ReservedRegion.parseFile("")
    #expect(parsed.regions.isEmpty && parsed.problems.isEmpty)
  }

  @Test func acceptsTabsUpperCaseAndAllSixteenDigits() {
    let parsed = ReservedRegion.parseFile("0X00000000FEE00000\t0xffffffffffffffff  msi\r\n\n")
    #expect(parsed.problems.isEmpty)
    #expect(parsed.regions == [ReservedRegion(start: 0xfee0_0000, end: .max, type: .msi)])
  }

  @Test func keepsUnknownTypesVerbatim() {
    let parsed = ReservedRegion.parseFile("0x1000 0x1fff sw-msi-future\n")
    #expect(parsed.regions.first?.type.rawValue == "sw-msi-future")
  }

  @Test(arguments: [
    "0x00000000fee00000 0x00000000feefffff",  // truncated: no type
    "0x00000000fee00000",  // truncated mid-line
    "fee00000 feefffff msi",  // no 0x
    "0x2000 0x1000 msi",  // end before start
    "0x00000000fee00000 0x00000000feefffff msi extra",
    "0x10000000000000000 0x1 msi",  // wider than 64 bits
    "0x1000 0x1fff m\u{FFFD}si",  // not UTF-8 on disk
    "0x 0x1fff msi",  // a prefix without digits
    "0x1000 0x1fffg msi",  // not a hex digit
    "0x1000 0x1fff\u{A0}msi",  // a non-ASCII space is not a separator
  ])
  func reportsAMalformedLineAndKeepsTheRest(line: String) {
    let parsed = ReservedRegion.parseFile("0x00000000fee00000 0x00000000feefffff msi\n\(line)\n")
    #expect(parsed.regions.count == 1)
    #expect(parsed.problems.count == 1)
    #expect(parsed.problems.first?.hasPrefix("line 2 ") == true)
  }
}
