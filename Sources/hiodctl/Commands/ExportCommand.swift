// hiodctl export — fleet facts for node-feature-discovery, Prometheus or Ansible.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum ExportCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    guard let format = invocation.value(.format) else {
      throw UsageError(
        message: "'export' needs --format nfd|prometheus|ansible", command: "export")
    }
    guard context.snapshotFiles.count <= 1 else {
      throw UsageError(message: "export describes one host: give at most one --host", command: "export")
    }
    if context.json && format != "ansible" {
      throw UsageError(
        message:
          """
          --json does not apply to export --format \(format): \
          it writes \(format == "nfd" ? "NFD feature lines" : "the Prometheus text format")
          """,
        hints: ["--format ansible writes the same facts as JSON"], command: "export")
    }
    try SnapshotMetadata.validateSourceDateEpoch()
    // sysfs by default: fleet exports run from timers and fact gathering, and must
    // neither open devices nor need privileges.
    let backend = invocation.value(.backend).flatMap(BackendChoice.init(rawValue:)) ?? .sysfs
    let output = invocation.value(.output)

    let summary: FleetSummary
    let readiness: HostReadiness
    do {
      let host = try context.hosts(allowBusReset: invocation.has(.force))[0]
      host.reportWarnings(among: 1)
      for device in host.inventory.devices where device.isVFIOBound {
        host.announceReset(of: device, backend: backend)
      }
      summary = FleetSummary.summarize(
        host.inventory, realizer: host.realizer, backend: backend,
        hostname: host.name ?? SnapshotMetadata.currentHostname(context.root),
        created: SnapshotMetadata.currentTimestamp())
      readiness = HostReadiness.evaluate(host.inventory)
    } catch let error as HIODError where format == "ansible" {
      return ansibleFacts(reporting: error, to: output)
    }

    let text: String
    switch format {
    case "nfd": text = NFDFeatures.render(summary, readiness: readiness)
    case "prometheus": text = PrometheusMetrics.render(summary, readiness: readiness)
    default:
      text =
        String(
          decoding: try Output.jsonBytes(AnsibleFacts(summary: summary, readiness: readiness, error: nil)),
          as: UTF8.self)
        + "\n"
    }
    try Output.document(text, to: output)
    return .success
  }

  /// ansible-core turns a fact script's non-zero exit into an unparseable string: the
  /// error goes to stderr and inside the facts, and the exit status stays 0.
  static func ansibleFacts(reporting error: HIODError, to output: String?) -> ExitStatus {
    Output.error("hiodctl: " + error.description)
    do {
      let facts = String(
        decoding: try Output.jsonBytes(AnsibleFacts(summary: nil, error: error.message)), as: UTF8.self)
      try Output.document(facts + "\n", to: output)
    } catch {
      Output.error("hiodctl: \(error)")
    }
    return .success
  }
}
