// hiodctl fuzzing — outside text in hiodctl export: a snapshot's host name and a device's
// driver name end up as Prometheus label values (PrometheusMetrics.escape) and in NFD
// lines. Input: "HOSTNAME\0DRIVER". Checks that the exposition still reads line by line,
// that each label value reads back as exactly the text put in, and that NFD output keeps
// one feature per line.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let input = bytes(data, size)
  let parts = input.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
  let hostname = String(decoding: parts.first ?? [], as: UTF8.self)
  let driver = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : hostname

  let escaped = PrometheusMetrics.escape(hostname)
  let read = checkPrometheusExposition("m{l=\"\(escaped)\"} 1\n", context: "escape(\(hostname.debugDescription))")
  require(
    read == [Array(hostname.utf8)],
    "escape(\(hostname.debugDescription)) reads back as \(read.map { String(decoding: $0, as: UTF8.self) })")

  let device = PCIDevice(
    address: PCIAddress(domain: 0, bus: 1, device: 0, function: 0),
    identity: PCIIdentity(
      vendorID: 0x8086, deviceID: 0x10d3, classCode: 0x0200, progIf: 0, revision: 0,
      subsystemVendorID: nil, subsystemDeviceID: nil),
    iommuGroup: 7, driver: driver)
  let summary = FleetSummary(
    hostname: hostname, created: "2026-11-21T12:00:00Z", facts: HostFacts(iommuGroupCount: 1),
    vfioDevices: [FleetDevice(device: device, viable: true, awBits: 39, backend: .sysfs)], models: [],
    warnings: [])
  let values = checkPrometheusExposition(
    PrometheusMetrics.render(summary),
    context: "render(hostname: \(hostname.debugDescription), driver: \(driver.debugDescription))")
  require(
    values.contains(Array(hostname.utf8)), "the host name label does not read back as \(hostname.debugDescription)")
  require(values.contains(Array(driver.utf8)), "the driver label does not read back as \(driver.debugDescription)")

  let nfd = NFDFeatures.render(summary)
  for line in nfd.utf8.split(separator: 0x0a) where line.first != 0x23 {
    require(
      line.starts(with: Array((NFDFeatures.namespace + "/").utf8)) && line.contains(0x3d),
      "NFD line \(String(decoding: line, as: UTF8.self).debugDescription) is not NAMESPACE/NAME=VALUE")
  }
  return 0
}
