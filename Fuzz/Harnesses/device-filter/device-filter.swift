// hiodctl fuzzing — DeviceFilter.addSlot/addID: lspci's -s and -d grammar through libpci's
// C parser (pci_filter_parse_slot/_id). The input is "SLOT\0ID" (no NUL: the same text for
// both). Checks the field ranges libpci promises, that a refused filter leaves the filter as
// it was, and that every BDF PCIAddress accepts is a slot filter selecting that device.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

private func device(_ address: PCIAddress) -> PCIDevice {
  PCIDevice(
    address: address,
    identity: PCIIdentity(
      vendorID: 0x8086, deviceID: 0x10d3, classCode: 0x0200, progIf: 0, revision: 0,
      subsystemVendorID: nil, subsystemDeviceID: nil))
}

private func checkRanges(_ filter: DeviceFilter, _ what: String) {
  func within(_ value: Int32, _ maximum: Int32) -> Bool { value == -1 || (0...maximum).contains(value) }
  require(within(filter.domain, 0x7fff_ffff), "\(what): domain \(filter.domain)")
  require(within(filter.bus, 0xff), "\(what): bus \(filter.bus)")
  require(within(filter.slot, 0x1f), "\(what): slot \(filter.slot)")
  require(within(filter.function, 7), "\(what): function \(filter.function)")
  require(within(filter.vendor, 0xffff), "\(what): vendor \(filter.vendor)")
  require(within(filter.device, 0xffff), "\(what): device \(filter.device)")
  require(within(filter.deviceClass, 0xffff), "\(what): class \(filter.deviceClass)")
  require(within(filter.progIf, 0xff), "\(what): prog-if \(filter.progIf)")
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = bytes(data, size)
  let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
  let slotText = String(decoding: parts.first ?? [], as: UTF8.self)
  let idText = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : slotText

  var filter = DeviceFilter.all
  let before = filter
  var slotAccepted = false
  do {
    try filter.addSlot(slotText)
    slotAccepted = true
    checkRanges(filter, "-s \(slotText.debugDescription)")
  } catch {
    require(filter == before, "a refused -s \(slotText.debugDescription) changed the filter")
    require(!error.message.isEmpty, "a refused -s has no message")
  }
  let afterSlot = filter
  do {
    try filter.addID(idText)
    checkRanges(filter, "-d \(idText.debugDescription)")
    // -d does not touch what -s set.
    require(
      (filter.domain, filter.bus, filter.slot, filter.function)
        == (afterSlot.domain, afterSlot.bus, afterSlot.slot, afterSlot.function),
      "-d \(idText.debugDescription) changed the slot fields")
  } catch {
    require(filter == afterSlot, "a refused -d \(idText.debugDescription) changed the filter")
  }

  // Matching never traps, whatever the filter holds.
  for address in [
    PCIAddress(domain: 0, bus: 0, device: 0, function: 0),
    PCIAddress(domain: 0x7fff_ffff, bus: 0xff, device: 31, function: 7),
    PCIAddress(domain: 0x10000, bus: 0x3b, device: 2, function: 1),
  ] {
    _ = filter.matches(device(address))
  }

  // Every BDF PCIAddress accepts is an lspci slot filter selecting exactly that function.
  if let address = PCIAddress(slotText) {
    require(slotAccepted, "libpci refuses -s \(slotText.debugDescription), which PCIAddress reads as \(address)")
    var exact = DeviceFilter.all
    try? exact.addSlot(slotText)
    require(exact.matches(device(address)), "-s \(slotText.debugDescription) does not select \(address)")
    let neighbour = PCIAddress(
      domain: address.domain, bus: address.bus, device: address.device, function: (address.function + 1) % 8)
    require(!exact.matches(device(neighbour)), "-s \(slotText.debugDescription) also selects \(neighbour)")
  }
  return 0
}
