// hiodctl fuzzing — snapshot JSON (`hiodctl snapshot`, read back by `--host FILE`), and
// what every command then does with it: list/caps/check/export answer from the decoded
// inventory and the recorded realize outcomes.
//
// +- SNAPSHOT DECODER SLOT -------------------------------------------------------------+
// | The entry point is `decodeSnapshot(_:)` below. It calls the decoder the snapshot    |
// | work committed, HostSnapshot.decode(_:source:). If that name or signature changes,  |
// | change this one function; the checks after it use only the decoded HostSnapshot.   |
// +-------------------------------------------------------------------------------------+
//
// Checks: a decoded snapshot re-encodes to JSON that decodes and re-encodes to the same
// bytes (the contract is a fixed point after one trip); realize/check/export over it do not
// trap and aw_bits stay in 1...64; the Prometheus export of it still reads line by line.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU
@testable import hiodctl

/// SNAPSHOT DECODER SLOT: the one call into the snapshot decoder.
private func decodeSnapshot(_ input: [UInt8]) -> HostSnapshot? {
  try? HostSnapshot.decode(input, source: "fuzz.json")
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let snapshot = decodeSnapshot(bytes(data, size)) else { return 0 }

  // Round trip: encode, decode, encode again — the same bytes.
  guard let first = try? Output.jsonBytes(snapshot) else {
    require(false, "a decoded snapshot does not encode")
    return 0
  }
  guard let again = decodeSnapshot(first) else {
    require(false, "hiodctl cannot read the snapshot it wrote:\n\(String(decoding: first, as: UTF8.self))")
    return 0
  }
  let second = try? Output.jsonBytes(again)
  require(second == first, "snapshot JSON is not a fixed point after one round trip")

  let inventory = snapshot.inventory
  // caps/check --host: every backend choice over the recorded outcomes, every model.
  let realizer = snapshot.realizer
  let vfio = inventory.devices.filter(\.isVFIOBound).prefix(4)
  for choice in BackendChoice.allCases {
    let realizations = vfio.map { realizer.realize($0, in: inventory, backend: choice) }
    for realization in realizations {
      if let awBits = realization.hostIOMMUDevice?.awBits {
        require((1...64).contains(awBits), "aw_bits \(awBits) for \(realization.device.address)")
      }
    }
    let inputs = realizations.map {
      DeviceCheckInput(device: $0.device, realization: $0, group: inventory.group($0.device.iommuGroup))
    }
    for model in VIOMMUModel.allCases {
      let reports = VIOMMUPool.check(
        VIOMMUConfiguration(model: model), hosts: [PoolHost(name: "fuzz", devices: inputs, facts: inventory.facts)])
      _ = CheckText.render(reports[0], realizations: realizations, assumptions: [], numeric: true)
    }
  }

  // export --host.
  let summary = FleetSummary.summarize(
    inventory, realizer: realizer, backend: .sysfs, hostname: snapshot.metadata.hostname,
    created: "2026-11-21T12:00:00Z")  // export stamps the time of the export, not of the snapshot
  checkPrometheusExposition(PrometheusMetrics.render(summary), context: "Prometheus export of the snapshot")
  _ = NFDFeatures.render(summary)
  _ = try? Output.jsonBytes(AnsibleFacts(summary: summary, error: nil))
  return 0
}
