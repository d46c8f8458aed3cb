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
      labels += verdict.model.definition.labels(verdict, compatible: compatible)
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
      // Appended piece by piece: a sample per device and model, on a large host tens of
      // thousands of lines, each built once.
      for (labels, value) in samples {
        output += name
        if !labels.isEmpty {
          output += "{"
          for (index, label) in labels.enumerated() {
            if index > 0 { output += "," }
            output += label.0
            output += "=\""
            output += escape(label.1)
            output += "\""
          }
          output += "}"
        }
        output += " "
        output += String(value)
        output += "\n"
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
        let configuration = verdict.configuration?.qemuDeviceOption ?? ""
        return verdict.devices.filter { $0.status != .undetermined }.map {
          (
            [
              ("bdf", $0.address.description), ("model", verdict.model.rawValue),
              ("configuration", configuration),
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
    // Most values (addresses, ids, model names) have nothing to escape; the three are
    // ASCII, so no byte of a longer UTF-8 sequence can be mistaken for one.
    guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
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
package struct AnsibleFacts: ContractDocument, Sendable {
  package static let command = "export --format ansible"
  /// The document when the host could not be read.
  package static let failedCommand = command + " (host unreadable)"
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

  /// The facts of a host that could be read. Without a summary the document is
  /// `Failed`'s: the version and the error alone.
  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case hiodctlVersion = "hiodctl_version"
    case hostname, created, error
    case iommu
    case vfioDevices = "vfio_devices"
    case awBitsMin = "aw_bits_min"
    case viommu, warnings, host

    package static let objectName = "ansible_facts"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .hiodctlVersion: ContractField(.string, "hiodctl's version")
      case .hostname: ContractField(.string, "the host's name")
      case .created: ContractField(.string, "when the facts were gathered, in UTC")
      case .error: ContractField(.nullable(.string), "null here (see ansible_error)")
      case .iommu: ContractField(.object(IOMMUFact.Key.objectName), "the host's IOMMU")
      case .vfioDevices: ContractField(.list(.object(DeviceFact.Key.objectName)), "the VFIO-bound devices")
      case .awBitsMin: ContractField(.nullable(.integer), "the smallest aw_bits of those devices; null: none known")
      case .viommu:
        ContractField(
          .map(.oneOf([.object(ModelFact.Key.objectName), .object(IntelModelFact.Key.objectName)])),
          "each vIOMMU model's verdict, by model name")
      case .warnings: ContractField(.list(.string), "what could not be read")
      case .host:
        ContractField(.nullable(.object(HostFact.Key.objectName)), "hiodctl host's verdicts; null: not asked")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    guard let summary else { return .null }
    return switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .hiodctlVersion: .string(HIODVersion.string)
    case .hostname: .string(summary.hostname)
    case .created: .string(summary.created)
    case .error: .string(error)
    case .iommu: .object(IOMMUFact(summary: summary))
    case .vfioDevices: .objects(summary.vfioDevices.map(DeviceFact.init))
    case .awBitsMin: .integer(summary.minimumAWBits)
    case .viommu:
      .map(
        summary.models.map { verdict in
          (
            verdict.model.rawValue,
            verdict.model == .intel ? .object(IntelModelFact(verdict)) : .object(ModelFact(verdict))
          )
        })
    case .warnings: .strings(summary.warnings)
    case .host: .optional(readiness) { .object(HostFact(readiness: $0)) }
    }
  }

  /// Written as the full object, or as `Failed` when the host could not be read.
  package func encode(to encoder: any Encoder) throws {
    if summary == nil {
      try Failed(error: error).encode(to: encoder)
    } else {
      try encodeKeys(to: encoder)
    }
  }

  /// The facts of a host that could not be read: the version and the error.
  package struct Failed: ContractObject {
    let error: String?

    package enum Key: String, ContractKey {
      case schemaVersion = "schema_version"
      case hiodctlVersion = "hiodctl_version"
      case error

      package static let objectName = "ansible_error"
      package static let sortedKeys = SortedContractKeys(Self.self)
      package var field: ContractField {
        switch self {
        case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
        case .hiodctlVersion: ContractField(.string, "hiodctl's version")
        case .error: ContractField(.nullable(.string), "why the host could not be read")
        }
      }
    }

    package func value(for key: Key) -> ContractValue {
      switch key {
      case .schemaVersion: .integer(JSONSchema.version)
      case .hiodctlVersion: .string(HIODVersion.string)
      case .error: .string(error)
      }
    }
  }

  struct IOMMUFact: ContractObject {
    let summary: FleetSummary

    enum Key: String, ContractKey {
      case vendor, enabled, groups, iommufd
      case vfioContainer = "vfio_container"
      case interruptRemapping = "interrupt_remapping"

      static let objectName = "ansible_iommu"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .vendor: ContractField(.string, "the IOMMU's vendor (intel, amd, virtio, none, …)")
        case .enabled: ContractField(.nullable(.boolean), "whether the kernel made IOMMU groups; null: unreadable")
        case .groups: ContractField(.nullable(.integer), "how many; null: /sys/kernel/iommu_groups unreadable")
        case .iommufd: ContractField(.boolean, "whether /dev/iommu is there")
        case .vfioContainer: ContractField(.boolean, "whether /dev/vfio/vfio is there")
        case .interruptRemapping:
          ContractField(.choice(choices(of: InterruptRemapping.self)), "whether the IOMMU remaps interrupts")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .vendor: .string(summary.iommuVendor)
      // null when /sys/kernel/iommu_groups could not be read: unknown, not false.
      case .enabled: .boolean(summary.iommuGroupCount.map { $0 > 0 })
      case .groups: .integer(summary.iommuGroupCount)
      case .iommufd: .boolean(summary.facts.iommufd.present)
      case .vfioContainer: .boolean(summary.facts.vfioContainer.present)
      case .interruptRemapping: .string(summary.facts.interruptRemapping.rawValue)
      }
    }
  }

  struct DeviceFact: ContractObject {
    let device: FleetDevice

    enum Key: String, ContractKey {
      case bdf
      case vendorID = "vendor_id"
      case deviceID = "device_id"
      case driver
      case iommuGroup = "iommu_group"
      case viable
      case awBits = "aw_bits"
      case backend, predicted

      static let objectName = "ansible_device"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .bdf: ContractField(.pciAddress, "the function")
        case .vendorID: ContractField(.hex(digits: 4), "its vendor ID")
        case .deviceID: ContractField(.hex(digits: 4), "its device ID")
        case .driver: ContractField(.nullable(.string), "its driver")
        case .iommuGroup: ContractField(.nullable(.integer), "its IOMMU group")
        case .viable: ContractField(.nullable(.boolean), "whether its group is viable")
        case .awBits: ContractField(.nullable(.integer), "its aw_bits; null: not known")
        case .backend:
          ContractField(.nullable(.choice(choices(of: HostIOMMUBackend.self))), "the backend that answered")
        case .predicted: ContractField(.nullable(.boolean), "whether the answer is the sysfs prediction")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .bdf: .string(device.device.address.description)
      case .vendorID: .string(device.device.identity.vendorID.hex(width: 4))
      case .deviceID: .string(device.device.identity.deviceID.hex(width: 4))
      case .driver: .string(device.device.driver)
      case .iommuGroup: .integer(device.device.iommuGroup)
      case .viable: .boolean(device.viable)
      case .awBits: .integer(device.awBits)
      case .backend: .string(device.backend?.rawValue)
      case .predicted: .boolean(device.backend.map { $0 == .sysfs })
      }
    }
  }

  /// A vIOMMU model's verdict.
  struct ModelFact: ContractObject {
    let verdict: FleetModelVerdict
    init(_ verdict: FleetModelVerdict) { self.verdict = verdict }

    enum Key: String, ContractKey {
      case compatible, status, configuration

      static let objectName = "ansible_viommu"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .compatible: ModelFact.compatibleField
        case .status: ModelFact.statusField
        case .configuration: ModelFact.configurationField
        }
      }
    }

    static var compatibleField: ContractField {
      ContractField(.nullable(.boolean), "whether every device works; null: undetermined")
    }
    static var statusField: ContractField { ContractField(.choice(choices(of: FindingStatus.self)), "the verdict") }
    static var configurationField: ContractField {
      ContractField(.nullable(.string), "the -device option that works; null: none")
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .compatible: Self.compatible(verdict)
      case .status: .string(verdict.status.rawValue)
      case .configuration: .string(verdict.configuration?.qemuDeviceOption)
      }
    }

    static func compatible(_ verdict: FleetModelVerdict) -> ContractValue {
      .boolean(verdict.status == .undetermined ? nil : verdict.status == .pass)
    }
  }

  /// intel-iommu's verdict, with its address width and x-flts.
  struct IntelModelFact: ContractObject {
    let verdict: FleetModelVerdict
    init(_ verdict: FleetModelVerdict) { self.verdict = verdict }

    enum Key: String, ContractKey {
      case compatible, status, configuration
      case awBits = "aw_bits"
      case xFlts = "x_flts"

      static let objectName = "ansible_viommu_intel"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .compatible: ModelFact.compatibleField
        case .status: ModelFact.statusField
        case .configuration: ModelFact.configurationField
        case .awBits: ContractField(.nullable(.integer), "the aw-bits of that configuration")
        case .xFlts: ContractField(.nullable(.boolean), "whether x-flts=on works too; null: not known")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .compatible: ModelFact.compatible(verdict)
      case .status: .string(verdict.status.rawValue)
      case .configuration: .string(verdict.configuration?.qemuDeviceOption)
      case .awBits: .integer(verdict.configuration?.awBits?.value)
      case .xFlts: .boolean(verdict.xFlts)
      }
    }
  }

  /// `hiodctl host`'s verdicts.
  struct HostFact: ContractObject {
    let readiness: HostReadiness

    enum Key: String, ContractKey {
      case ready, status, determined, checks

      static let objectName = "ansible_host"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .ready: ContractField(.boolean, "whether the host is ready for device assignment")
        case .status: ContractField(.choice(choices(of: ReadinessStatus.self)), "the worst check's status")
        case .determined: ContractField(.boolean, "whether every check could be answered")
        case .checks: ContractField(.list(.object(CheckFact.Key.objectName)), "each readiness check")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .ready: .boolean(readiness.ready)
      case .status: .string(readiness.status.rawValue)
      case .determined: .boolean(readiness.determined)
      case .checks: .objects(readiness.checks.map(CheckFact.init))
      }
    }
  }

  struct CheckFact: ContractObject {
    let check: ReadinessCheck

    enum Key: String, ContractKey {
      case id, status, determined, message, fix

      static let objectName = "ansible_host_check"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .id: ContractField(.string, "the check's id")
        case .status: ContractField(.choice(choices(of: ReadinessStatus.self)), "its answer")
        case .determined: ContractField(.boolean, "whether it could be answered")
        case .message: ContractField(.string, "the answer, in words")
        case .fix: ContractField(.nullable(.string), "what to do; null: nothing")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .id: .string(check.id)
      case .status: .string(check.status.rawValue)
      case .determined: .boolean(check.determined)
      case .message: .string(check.message)
      case .fix: .string(check.fix)
      }
    }
  }
}
