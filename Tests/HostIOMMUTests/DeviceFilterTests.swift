// hiodctl tests — lspci's -s/-d grammar through libpci's parser, matched in Swift.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU
import Testing

struct DeviceFilterTests {
  static let nic = PCIDevice(
    address: PCIAddress(domain: 0, bus: 0x3b, device: 0x02, function: 1),
    identity: PCIIdentity(
      vendorID: 0x8086, deviceID: 0x10d3, classCode: 0x0200, progIf: 0, revision: 0,
      subsystemVendorID: nil, subsystemDeviceID: nil))

  @Test(arguments: [
    ("3b:02.1", true), ("0000:3b:02.1", true), ("3b:02", true), ("02.1", true), ("02", true),
    (".1", true), ("3b:", true), ("0000::", true), ("*:*.*", true), ("0001:3b:02.1", false),
    ("3c:02.1", false), ("3b:03", false), (".0", false), ("", true),
  ])
  func slot(_ text: String, matches: Bool) throws {
    var filter = DeviceFilter.all
    try filter.addSlot(text)
    #expect(filter.matches(Self.nic) == matches)
  }

  @Test(arguments: [
    ("8086:", true), ("8086:10d3", true), (":10d3", true), ("8086:10d3:0200", true),
    ("::02xx", true), ("::0200:00", true), ("::0200:01", false), ("::01xx", false),
    ("10de:", false), ("8086:1533", false), ("*:*", true),
  ])
  func id(_ text: String, matches: Bool) throws {
    var filter = DeviceFilter.all
    try filter.addID(text)
    #expect(filter.matches(Self.nic) == matches)
  }

  @Test(arguments: [
    ("00:20.0", "invalid -s filter '00:20.0': invalid slot number"),
    ("100:00.0", "invalid -s filter '100:00.0': invalid bus number"),
    ("00:02.9", "invalid -s filter '00:02.9': invalid function number"),
    ("g:0:0:0", "invalid -s filter 'g:0:0:0': too many fields"),
    ("zz::", "invalid -s filter 'zz::': invalid domain number"),
  ])
  func badSlotIsAUsageErrorWithLibpciReason(_ text: String, message: String) {
    var filter = DeviceFilter.all
    #expect {
      try filter.addSlot(text)
    } throws: { error in
      let failure = error as? HIODError
      return failure?.message == message && failure?.exitStatus == .usage
    }
  }

  @Test(arguments: [
    ("8086", "invalid -d filter '8086': at least two fields must be given"),
    ("80866:", "invalid -d filter '80866:': invalid vendor ID"),
    ("8086:1x", "invalid -d filter '8086:1x': invalid device ID"),
    ("8086::zz", "invalid -d filter '8086::zz': invalid class code"),
  ])
  func badIDIsAUsageError(_ text: String, message: String) {
    var filter = DeviceFilter.all
    #expect {
      try filter.addID(text)
    } throws: { error in
      (error as? HIODError)?.message == message
    }
  }
}
