// hiodctl — lspci's -s and -d filters, parsed by libpci itself, matched in Swift.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import CLibPCI

/// A device selection in lspci's grammar:
/// `-s [[[[domain]:]bus]:][device][.[func]]` and `-d [vendor]:[device][:class[:progif]]`,
/// with `*` or an empty field for "any" and `x` digits as wildcards in the class.
///
/// Parsing goes through libpci's `pci_filter_parse_slot`/`pci_filter_parse_id`, so the
/// grammar (and its corner cases) is exactly the one users know from lspci. Matching is
/// done here on hiodctl's own device values, so it also works on snapshots.
package struct DeviceFilter: Sendable, Equatable {
  // -1 means "any", as in libpci's struct pci_filter.
  var domain: Int32 = -1
  var bus: Int32 = -1
  var slot: Int32 = -1
  var function: Int32 = -1
  var vendor: Int32 = -1
  var device: Int32 = -1
  var deviceClass: Int32 = -1
  var deviceClassMask: UInt32 = ~0
  var progIf: Int32 = -1

  /// The filter that selects every device.
  package static let all = DeviceFilter()

  init() {}

  /// Adds an lspci `-s` slot filter.
  package mutating func addSlot(_ text: String) throws(HIODError) {
    try parse(text, option: "-s", grammar: "[[[[domain]:]bus]:][device][.[func]]") {
      hiod_pci_filter_parse_slot(&$0, text)
    }
  }

  /// Adds an lspci `-d` ID filter.
  package mutating func addID(_ text: String) throws(HIODError) {
    try parse(text, option: "-d", grammar: "[vendor]:[device][:class[:progif]]") {
      hiod_pci_filter_parse_id(&$0, text)
    }
  }

  private mutating func parse(
    _ text: String, option: String, grammar: String,
    _ call: (inout pci_filter) -> UnsafePointer<CChar>?
  ) throws(HIODError) {
    var raw = pci_filter()
    pci_filter_init(nil, &raw)
    load(into: &raw)
    if let error = call(&raw) {
      let reason = String(cString: error)
      throw HIODError(
        .usage, "invalid \(option) filter '\(text)': \(reason.lowercasedFirst)",
        hints: ["\(option) takes \(grammar) in hex, as lspci does"])
    }
    store(from: raw)
  }

  private func load(into raw: inout pci_filter) {
    raw.domain = domain
    raw.bus = bus
    raw.slot = slot
    raw.func = function
    raw.vendor = vendor
    raw.device = device
    raw.device_class = deviceClass
    raw.device_class_mask = deviceClassMask
    raw.prog_if = progIf
  }

  private mutating func store(from raw: pci_filter) {
    domain = raw.domain
    bus = raw.bus
    slot = raw.slot
    function = raw.func
    vendor = raw.vendor
    device = raw.device
    deviceClass = raw.device_class
    deviceClassMask = raw.device_class_mask
    progIf = raw.prog_if
  }

  /// Whether the filter selects nothing in particular.
  package var isEmpty: Bool { self == .all }

  /// Whether `device` passes the filter (libpci's `pci_filter_match`, restated).
  package func matches(_ device: PCIDevice) -> Bool {
    let address = device.address
    if domain >= 0 && Int64(domain) != Int64(address.domain) { return false }
    if bus >= 0 && Int32(address.bus) != bus { return false }
    if slot >= 0 && Int32(address.device) != slot { return false }
    if function >= 0 && Int32(address.function) != function { return false }
    let identity = device.identity
    if vendor >= 0 && Int32(identity.vendorID) != vendor { return false }
    if self.device >= 0 && Int32(identity.deviceID) != self.device { return false }
    if deviceClass >= 0
      && (UInt32(identity.classCode) ^ UInt32(bitPattern: deviceClass)) & deviceClassMask != 0
    {
      return false
    }
    if progIf >= 0 && Int32(identity.progIf) != progIf { return false }
    return true
  }
}

extension String {
  /// "Invalid slot number" → "invalid slot number", for messages after a colon.
  var lowercasedFirst: String {
    guard let first else { return self }
    return first.lowercased() + dropFirst()
  }
}
