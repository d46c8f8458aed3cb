// hiodctl tests — BDF parsing and printing.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import HostIOMMU
import Testing

struct PCIAddressTests {
  @Test(arguments: [
    ("0000:00:02.0", "0000:00:02.0"),
    ("00:02.0", "0000:00:02.0"),
    ("0000:3b:1f.7", "0000:3b:1f.7"),
    ("0000:3B:1F.7", "0000:3b:1f.7"),
    ("10000:00:02.0", "10000:00:02.0"),
    ("7fffffff:ff:1f.7", "7fffffff:ff:1f.7"),
  ])
  func parsesAndPrintsCanonically(text: String, canonical: String) throws {
    let address = try #require(PCIAddress(text))
    #expect(address.description == canonical)
  }

  @Test(arguments: [
    "", "0000:00:02", "000:00:02.0", "0000:0:02.0", "0000:00:2.0", "0000:00:20.0",
    "0000:00:02.8", "0000:00:02.00", "0000:00:02.0x", "80000000:00:02.0", "1:2:3:4.0",
    "0000:00:02:0", "+000:00:02.0", "0000:-1:02.0", "g000:00:02.0", "0000:00:1f.f",
  ])
  func rejects(text: String) {
    #expect(PCIAddress(text) == nil)
  }

  /// The name is the kernel's `%04x:%02x:%02x.%d` (drivers/pci/probe.c), as printf
  /// writes it, over domains of every digit count and every bus, device and function.
  @Test func namesAsTheKernelsFormatDoes() {
    for domain: UInt32 in [0, 0x1, 0xabc, 0xffff, 0x1_0000, 0xf_fffe, 0x7fff_ffff] {
      for bus in stride(from: 0, through: 255, by: 17) {
        for device in 0..<32 {
          for function in 0..<8 {
            let address = PCIAddress(
              domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
            #expect(address.description == String(format: "%04x:%02x:%02x.%d", domain, bus, device, function))
          }
        }
      }
    }
  }

  @Test func ordersNumericallyByDomainBusDeviceFunction() throws {
    let sorted = ["10000:00:00.0", "0000:01:00.0", "0000:00:1f.3", "0000:00:02.1", "0000:00:02.0"]
      .compactMap { PCIAddress($0) }.sorted().map(\.description)
    #expect(sorted == ["0000:00:02.0", "0000:00:02.1", "0000:00:1f.3", "0000:01:00.0", "10000:00:00.0"])
  }

  @Test func formatsHexZeroPaddedAndNeverTruncates() {
    #expect(UInt16(0xab).hex(width: 4) == "00ab")
    #expect(UInt8(0).hex(width: 0) == "0")
    #expect(UInt8(0xff).hex(width: 1) == "ff")
    #expect(UInt32(0x1_0000).hex(width: 4) == "10000")
    #expect(UInt64.max.hex(width: 4) == "ffffffffffffffff")
    #expect(UInt64(0xfee0_0000).hex64 == "0x00000000fee00000")
  }

  /// `hex64` is the kernel's reserved_regions `0x%016llx`, as printf writes it.
  @Test func hex64IsPrintfsZeroPaddedLongLong() {
    var value: UInt64 = 0x9e37_79b9_7f4a_7c15
    for shift in 0...64 {
      for sample in [UInt64(0), UInt64.max, value, value >> UInt64(shift), UInt64(1) << UInt64(shift % 64)] {
        #expect(sample.hex64 == String(format: "0x%016llx", sample))
      }
      value = value &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    }
  }
}
