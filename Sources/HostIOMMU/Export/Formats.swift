// hiodctl — the three fleet formats: NFD local features, Prometheus textfile exposition,
// Ansible local facts.
// SPDX-License-Identifier: GPL-2.0-or-later

/// node-feature-discovery local feature lines (`<namespace>/<name>=<value>`).
///
/// The namespace is a sub-namespace of feature.node.kubernetes.io, which nfd-master
/// accepts without extra configuration. Names and values follow Kubernetes label rules
/// (≤ 63 characters, alphanumeric at both ends, `-_.` inside).
package enum NFDFeatures {
  package static let namespace = "hiodctl.feature.node.kubernetes.io"

  /// `readiness`: the `hiodctl host` verdicts, as `host.ready`, `host.status` and one
  /// `host.check.<id>` label each (pass, warn, fail; unknown when it could not be told).
  /// When /sys/kernel/iommu_groups cannot be read, `iommu.enabled` is `unknown` and
  /// `iommu.groups` is left out: no groups read is not no IOMMU.
  package static func render(_ summary: FleetSummary, readiness: HostReadiness? = nil) -> String {
    let groups = summary.iommuGroupCount
    var labels: [(String, String)] = [("iommu.vendor", summary.iommuVendor)]
    labels.append(("iommu.enabled", groups.map { String($0 > 0) } ?? "unknown"))
    if let groups { labels.append(("iommu.groups", String(groups))) }
    labels += [
      ("iommufd", String(summary.facts.iommufd.present)),
      ("vfio.container", String(summary.facts.vfioContainer.present)),
      ("interrupt-remapping", summary.facts.interruptRemapping.rawValue),
      ("vfio.devices", String(summary.vfioDevices.count)),
    ]
    if let bits = summary.minimumAWBits { labels.append(("aw-bits.min", String(bits))) }
    for verdict in summary.models where verdict.status != .undetermined {
      let compatible = verdict.status == .pass
      switch verdict.model {
      case .intel:
        labels.append(("viommu.intel", String(compatible)))
        if compatible, let bits = verdict.configuration?.awBits?.value {
          labels.append(("viommu.intel.aw-bits", String(bits)))
        }
        if let xFlts = verdict.xFlts { labels.append(("viommu.intel.x-flts", String(xFlts))) }
      case .virtio:
        labels.append(("viommu.virtio", String(compatible)))
      case .smmuv3:
        labels.append(("viommu.smmuv3.accel", String(compatible)))
      case .amd:
        labels.append(("viommu.amd", String(compatible)))
      case .none:
        break
      }
    }
    if let readiness {
      labels.append(("host.ready", String(readiness.ready)))
      labels.append(("host.status", readiness.status.rawValue))
      for check in readiness.checks {
        labels.append(("host.check.\(check.id)", check.determined ? check.status.rawValue : "unknown"))
      }
    }
    var lines = ["# hiodctl \(HIODVersion.string) export for node-feature-discovery, \(summary.created)"]
    lines += labels.map { "\(namespace)/\($0.0)=\($0.1)" }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// Prometheus text exposition format for node_exporter's textfile collector: HELP and
/// TYPE lines, gauges only, no timestamps (the collector drops them).
package enum PrometheusMetrics {
  /// The readiness states a check's gauge has one sample for.
  static let checkStates = ["pass", "warn", "fail", "unknown"]

  package static func render(_ summary: FleetSummary, readiness: HostReadiness? = nil) -> String {
    var output = ""
    func metric(_ name: String, _ help: String, _ samples: [([(String, String)], Int)]) {
      guard !samples.isEmpty else { return }
      output += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
      for (labels, value) in samples {
        let rendered = labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
        output += rendered.isEmpty ? "\(name) \(value)\n" : "\(name){\(rendered)} \(value)\n"
      }
    }
    let facts = summary.facts
    metric(
      "hiod_info", "hiodctl version and host name.",
      [([("version", HIODVersion.string), ("hostname", summary.hostname)], 1)])
    // Unreadable groups: no sample rather than a 0 that says there is no IOMMU.
    let groups = summary.iommuGroupCount
    metric("hiod_iommu_enabled", "1 when the host has IOMMU groups.", groups.map { [([], $0 > 0 ? 1 : 0)] } ?? [])
    metric(
      "hiod_iommu_units", "IOMMU hardware units, by vendor.",
      Dictionary(grouping: facts.iommuUnits, by: \.vendor.rawValue).sorted { $0.key < $1.key }
        .map { ([("vendor", $0.key)], $0.value.count) })
    metric("hiod_iommu_groups", "IOMMU groups.", groups.map { [([], $0)] } ?? [])
    metric("hiod_iommufd_available", "1 when /dev/iommu exists.", [([], facts.iommufd.present ? 1 : 0)])
    metric(
      "hiod_vfio_container_available", "1 when /dev/vfio/vfio exists.", [([], facts.vfioContainer.present ? 1 : 0)])
    metric(
      "hiod_interrupt_remapping", "Interrupt remapping state (1 for the current state).",
      [InterruptRemapping.enabled, .disabled, .unknown].map {
        ([("state", $0.rawValue)], facts.interruptRemapping == $0 ? 1 : 0)
      })
    metric("hiod_vfio_devices", "PCI devices bound to a VFIO driver.", [([], summary.vfioDevices.count)])
    func deviceLabels(_ device: FleetDevice) -> [(String, String)] {
      [("bdf", device.device.address.description)]
    }
    metric(
      "hiod_device_info", "A VFIO-bound device.",
      summary.vfioDevices.map { device in
        (
          deviceLabels(device) + [
            ("vendor_id", device.device.identity.vendorID.hex(width: 4)),
            ("device_id", device.device.identity.deviceID.hex(width: 4)),
            ("class", device.device.identity.classCode.hex(width: 4)),
            ("driver", device.device.driver ?? ""),
            ("iommu_group", device.device.iommuGroup.map(String.init) ?? ""),
          ], 1
        )
      })
    metric(
      "hiod_device_group_viable", "1 when the device's IOMMU group is viable for VFIO.",
      summary.vfioDevices.compactMap { device in device.viable.map { (deviceLabels(device), $0 ? 1 : 0) } })
    metric(
      "hiod_device_aw_bits", "Host IOMMU address width for the device, as QEMU computes it.",
      summary.vfioDevices.compactMap { device in
        device.awBits.map {
          (
            deviceLabels(device) + [
              ("backend", device.backend?.rawValue ?? ""),
              ("predicted", String(device.backend == .sysfs)),
            ], $0
          )
        }
      })
    metric(
      "hiod_viommu_compatible",
      "1 when every VFIO-bound device accepts the strongest configuration of the vIOMMU model, 0 when not.",
      summary.models.filter { $0.status != .undetermined }.map { verdict in
        (
          [("model", verdict.model.rawValue), ("configuration", verdict.configuration?.qemuDeviceOption ?? "")],
          verdict.status == .pass ? 1 : 0
        )
      })
    metric(
      "hiod_viommu_device_compatible", "1 when the device accepts the model's configuration, 0 when not.",
      summary.models.flatMap { verdict in
        verdict.devices.filter { $0.status != .undetermined }.map {
          (
            [
              ("bdf", $0.address.description), ("model", verdict.model.rawValue),
              ("configuration", verdict.configuration?.qemuDeviceOption ?? ""),
            ], $0.status == .pass ? 1 : 0
          )
        }
      })
    metric(
      "hiod_viommu_intel_max_aw_bits", "The largest intel-iommu aw-bits every VFIO-bound device accepts.",
      summary.models.filter { $0.model == .intel && $0.status == .pass }.compactMap { verdict in
        verdict.configuration?.awBits.map { ([], $0.value) }
      })
    if let readiness {
      metric(
        "hiod_host_ready", "1 when no host prerequisite of device assignment fails (hiodctl host).",
        [([], readiness.ready ? 1 : 0)])
      metric(
        "hiod_host_check", "hiodctl host's verdict on each prerequisite (1 for the current state).",
        readiness.checks.flatMap { check in
          let state = check.determined ? check.status.rawValue : "unknown"
          return checkStates.map { ([("check", check.id), ("state", $0)], $0 == state ? 1 : 0) }
        })
    }
    return output
  }

  /// Label values escape backslash, double quote and newline.
  static func escape(_ value: String) -> String {
    // By scalar, not by Character: "\r\n" or a quote followed by a combining mark is
    // one Character, and matching Characters would let the newline or quote through
    // unescaped (found by Fuzz/Harnesses/export-labels).
    var escaped = String.UnicodeScalarView()
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
      case "\"": escaped.append(contentsOf: "\\\"".unicodeScalars)
      case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
      default: escaped.append(scalar)
      }
    }
    return String(escaped)
  }
}

/// Ansible local facts (`/etc/ansible/facts.d/hiodctl.fact`): one JSON object.
package struct AnsibleFacts: Encodable, Sendable {
  package let summary: FleetSummary?
  /// The `hiodctl host` verdicts, as the `host` fact.
  package let readiness: HostReadiness?
  /// A failure to read the host: reported inside the facts, because ansible-core turns
  /// a non-zero exit of a fact script into an unparseable string.
  package let error: String?

  package init(summary: FleetSummary?, readiness: HostReadiness? = nil, error: String?) {
    self.summary = summary
    self.readiness = readiness
    self.error = error
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case hiodctlVersion = "hiodctl_version"
    case hostname, created, error
    case iommu
    case vfioDevices = "vfio_devices"
    case awBitsMin = "aw_bits_min"
    case viommu, warnings, host
  }
  enum HostKey: String, CodingKey { case ready, status, determined, checks }
  enum CheckKey: String, CodingKey { case id, status, determined, message, fix }
  enum IOMMUKey: String, CodingKey {
    case vendor, enabled, groups, iommufd
    case vfioContainer = "vfio_container"
    case interruptRemapping = "interrupt_remapping"
  }
  enum DeviceKey: String, CodingKey {
    case bdf
    case vendorID = "vendor_id"
    case deviceID = "device_id"
    case driver
    case iommuGroup = "iommu_group"
    case viable
    case awBits = "aw_bits"
    case backend, predicted
  }
  enum ModelKey: String, CodingKey {
    case compatible, status, configuration
    case awBits = "aw_bits"
    case xFlts = "x_flts"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(HIODVersion.string, forKey: .hiodctlVersion)
    try container.encode(error, forKey: .error)
    guard let summary else { return }
    try container.encode(summary.hostname, forKey: .hostname)
    try container.encode(summary.created, forKey: .created)
    var iommu = container.nestedContainer(keyedBy: IOMMUKey.self, forKey: .iommu)
    try iommu.encode(summary.iommuVendor, forKey: .vendor)
    // null when /sys/kernel/iommu_groups could not be read: unknown, not false.
    try iommu.encode(summary.iommuGroupCount.map { $0 > 0 }, forKey: .enabled)
    try iommu.encode(summary.iommuGroupCount, forKey: .groups)
    try iommu.encode(summary.facts.iommufd.present, forKey: .iommufd)
    try iommu.encode(summary.facts.vfioContainer.present, forKey: .vfioContainer)
    try iommu.encode(summary.facts.interruptRemapping.rawValue, forKey: .interruptRemapping)
    var devices = container.nestedUnkeyedContainer(forKey: .vfioDevices)
    for device in summary.vfioDevices {
      var entry = devices.nestedContainer(keyedBy: DeviceKey.self)
      try entry.encode(device.device.address.description, forKey: .bdf)
      try entry.encode(device.device.identity.vendorID.hex(width: 4), forKey: .vendorID)
      try entry.encode(device.device.identity.deviceID.hex(width: 4), forKey: .deviceID)
      try entry.encode(device.device.driver, forKey: .driver)
      try entry.encode(device.device.iommuGroup, forKey: .iommuGroup)
      try entry.encode(device.viable, forKey: .viable)
      try entry.encode(device.awBits, forKey: .awBits)
      try entry.encode(device.backend?.rawValue, forKey: .backend)
      try entry.encode(device.backend.map { $0 == .sysfs }, forKey: .predicted)
    }
    try container.encode(summary.minimumAWBits, forKey: .awBitsMin)
    var viommu = container.nestedContainer(keyedBy: Self.ModelName.self, forKey: .viommu)
    for verdict in summary.models {
      var entry = viommu.nestedContainer(keyedBy: ModelKey.self, forKey: ModelName(stringValue: verdict.model.rawValue))
      try entry.encode(verdict.status == .undetermined ? nil : verdict.status == .pass, forKey: .compatible)
      try entry.encode(verdict.status.rawValue, forKey: .status)
      try entry.encode(verdict.configuration?.qemuDeviceOption, forKey: .configuration)
      if verdict.model == .intel {
        try entry.encode(verdict.configuration?.awBits?.value, forKey: .awBits)
        try entry.encode(verdict.xFlts, forKey: .xFlts)
      }
    }
    try container.encode(summary.warnings, forKey: .warnings)
    if let readiness {
      var host = container.nestedContainer(keyedBy: HostKey.self, forKey: .host)
      try host.encode(readiness.ready, forKey: .ready)
      try host.encode(readiness.status.rawValue, forKey: .status)
      try host.encode(readiness.determined, forKey: .determined)
      var checks = host.nestedUnkeyedContainer(forKey: .checks)
      for check in readiness.checks {
        var entry = checks.nestedContainer(keyedBy: CheckKey.self)
        try entry.encode(check.id, forKey: .id)
        try entry.encode(check.status.rawValue, forKey: .status)
        try entry.encode(check.determined, forKey: .determined)
        try entry.encode(check.message, forKey: .message)
        try entry.encode(check.fix, forKey: .fix)
      }
    } else {
      try container.encodeNil(forKey: .host)
    }
  }

  typealias ModelName = NamedKey
}
