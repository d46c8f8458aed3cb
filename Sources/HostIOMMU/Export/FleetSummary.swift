// hiodctl — what fleet tooling wants to know about a host, computed once and written as
// NFD labels, Prometheus metrics or Ansible facts.
// SPDX-License-Identifier: GPL-2.0-or-later

/// One VFIO-bound device, as the exports show it.
package struct FleetDevice: Sendable {
  package var device: PCIDevice
  package var viable: Bool?
  package var awBits: Int?
  /// The backend that answered (`sysfs` for a prediction).
  package var backend: HostIOMMUBackend?
}

/// Whether every VFIO-bound device accepts a vIOMMU model, and with what.
package struct FleetModelVerdict: Sendable {
  package var model: VIOMMUModel
  /// The strongest configuration all devices accept (nil: none).
  package var configuration: VIOMMUConfiguration?
  /// pass: all devices accept it; fail: some device cannot; undetermined: not decidable.
  package var status: FindingStatus
  /// Per device: pass, fail or undetermined under `configuration` (or the default one).
  package var devices: [(address: PCIAddress, status: FindingStatus)]
  /// intel only: whether x-flts (nested first-stage translation) works for all devices.
  package var xFlts: Bool?
}

/// The host summary behind `hiodctl export`.
package struct FleetSummary: Sendable {
  package var hostname: String
  package var created: String
  package var facts: HostFacts
  package var vfioDevices: [FleetDevice]
  package var models: [FleetModelVerdict]
  package var warnings: [String]

  /// The IOMMU vendor: intel, amd, arm, virtio, mixed, or none.
  package var iommuVendor: String {
    let vendors = Set(facts.iommuUnits.map(\.vendor.rawValue))
    switch vendors.count {
    case 0: return "none"
    case 1: return vendors.first ?? "none"
    default: return "mixed"
    }
  }

  /// The number of IOMMU groups; nil when /sys/kernel/iommu_groups could not be read
  /// (the exports then say unknown, not that there is no IOMMU).
  package var iommuGroupCount: Int? { facts.iommuGroupsError == nil ? facts.iommuGroupCount : nil }

  /// The narrowest host aw_bits among the VFIO-bound devices (nil: none known).
  package var minimumAWBits: Int? { vfioDevices.compactMap(\.awBits).min() }

  /// Summarizes `host`: realizes each VFIO-bound device with `backend` and asks each
  /// vIOMMU model's suggester (newest QEMU rules) for the strongest accepted configuration.
  package static func summarize(
    _ host: HostInventory, realizer: HostIOMMURealizer, backend: BackendChoice, hostname: String,
    created: String
  ) -> FleetSummary {
    let realizations = host.devices.filter(\.isVFIOBound).map { realizer.realize($0, in: host, backend: backend) }
    let inputs = host.checkInputs(realizations)
    let devices = realizations.map {
      FleetDevice(
        device: $0.device, viable: host.group($0.device.iommuGroup)?.isViable,
        awBits: $0.hostIOMMUDevice?.awBits, backend: $0.hostIOMMUDevice?.backend)
    }
    var models: [FleetModelVerdict] = []
    if !inputs.isEmpty {
      // The models' suggesters are independent and pure: one thread each, as far as
      // there are processors, the next model to the first free thread (a model's
      // suggestion checks every device one to three times).
      models = Parallel.mapEach(VIOMMUModel.allCases) { model in
        verdict(of: model, devices: inputs, host: host.facts)
      }
    }
    return FleetSummary(
      hostname: hostname, created: created, facts: host.facts, vfioDevices: devices, models: models,
      warnings: host.warnings)
  }

  /// What `model`'s suggester, with the newest QEMU's rules, makes of `devices`.
  private static func verdict(of model: VIOMMUModel, devices inputs: [DeviceCheckInput], host: HostFacts)
    -> FleetModelVerdict
  {
    let suggestion = VIOMMUSuggester.suggest(
      model: model, qemu: .newest, machine: nil, devices: inputs, host: host)
    let report =
      suggestion.report
      ?? VIOMMUChecker.check(
        VIOMMUConfiguration(model: model, qemu: .newest), devices: inputs, host: host)
    let status: FindingStatus = suggestion.configuration == nil ? .fail : report.status
    return FleetModelVerdict(
      model: model, configuration: suggestion.configuration, status: status,
      devices: report.devices.map { ($0.device.address, $0.status) },
      xFlts: model == .intel ? suggestion.alternatives.contains { $0.xFlts?.value == true } : nil)
  }
}
