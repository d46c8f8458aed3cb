// hiodctl tests — the fleet formats, each read by a real consumer: Prometheus's own
// client parser, ansible-core's local-facts loader, and Kubernetes' label rules for NFD.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

/// Runs a program with the test's environment and returns (status, stdout).
func runProgram(_ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:])
  throws -> (Int32, String)
{
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  env.merge(environment) { $1 }
  process.environment = env
  let out = Pipe()
  process.standardOutput = out
  process.standardError = FileHandle.nullDevice
  if let input {
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    inputPipe.fileHandleForWriting.write(Data(input.utf8))
    inputPipe.fileHandleForWriting.closeFile()
  } else {
    try process.run()
  }
  let data = out.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

enum Consumers {
  /// Debian's python3 (the PATH's may be another one without Debian's modules).
  static let python = "/usr/bin/python3"
  static var hasPrometheusClient: Bool {
    (try? runProgram(python, ["-c", "import prometheus_client.parser"]).0) == 0
  }
  static var hasAnsible: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/ansible") }
}

struct ExportTests {
  static let sources: [[String]] = [
    ["--host", "snapshots/v1-intel-aw39.json"], ["--host", "snapshots/v1-intel-aw48.json"],
    ["--sysroot", "synthetic/intel-host"], ["--sysroot", "captured/amd"], ["--sysroot", "captured/no-iommu"],
    ["--sysroot", "captured/virtio"],
  ]

  @Test(.enabled(if: Consumers.hasPrometheusClient, "needs python3-prometheus-client"), arguments: sources)
  func prometheusTextParsesWithPrometheusClient(_ source: [String]) throws {
    let outcome = try Golden.run(source + ["export", "--format", "prometheus"])
    #expect(outcome.status == 0)
    let checker = """
      import sys
      from prometheus_client.parser import text_string_to_metric_families
      text = sys.stdin.read()
      names = []
      for family in text_string_to_metric_families(text):
          assert family.type == "gauge", family.name
          assert family.documentation, family.name
          for sample in family.samples:
              assert sample.timestamp is None, sample
          names.append(family.name)
      for line in text.splitlines():
          if line.startswith("# TYPE "):
              assert "# HELP " + line.split()[2] in text, line
      print(" ".join(names))
      """
    let (status, names) = try runProgram(Consumers.python, ["-c", checker], input: outcome.stdout)
    #expect(status == 0, "prometheus_client rejected:\n\(outcome.stdout)")
    for family in [
      "hiod_info", "hiod_iommu_enabled", "hiod_iommu_groups", "hiod_interrupt_remapping", "hiod_vfio_devices",
    ] {
      #expect(names.split(whereSeparator: \.isWhitespace).contains(Substring(family)), "\(family) missing")
    }
  }

  @Test func prometheusNumbersForTheAW39Snapshot() throws {
    let text = try Golden.run(["--host", "snapshots/v1-intel-aw39.json", "export", "--format", "prometheus"]).stdout
    #expect(text.contains("hiod_viommu_intel_max_aw_bits 39\n"))
    #expect(text.contains(#"hiod_device_aw_bits{bdf="0000:00:02.0",backend="sysfs",predicted="true"} 39"#))
    #expect(text.contains(#"hiod_interrupt_remapping{state="enabled"} 1"#))
  }

  /// Kubernetes label rules (apimachinery validation): a DNS-subdomain prefix of at most
  /// 253 characters, a name of at most 63 matching the qualified-name pattern, a value of
  /// at most 63 matching the label-value pattern; NFD ignores files over 64 KiB.
  @Test(arguments: sources)
  func nfdLinesAreValidKubernetesLabels(_ source: [String]) throws {
    let outcome = try Golden.run(source + ["export", "--format", "nfd"])
    #expect(outcome.status == 0)
    #expect(outcome.stdout.utf8.count < 64 * 1024)
    let name = try Regex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
    let subdomain = try Regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    var labels = 0
    for line in outcome.stdout.split(separator: "\n") where !line.hasPrefix("#") {
      let parts = line.split(separator: "=", maxSplits: 1)
      try #require(parts.count == 2, "\(line)")
      let key = parts[0].split(separator: "/", maxSplits: 1)
      try #require(key.count == 2, "unprefixed label \(line)")
      #expect(key[0].count <= 253 && (try? subdomain.wholeMatch(in: key[0])) != nil, "\(line)")
      #expect(key[0].hasSuffix("feature.node.kubernetes.io"), "nfd-master drops other namespaces by default")
      #expect(key[1].count <= 63 && (try? name.wholeMatch(in: key[1])) != nil, "\(line)")
      #expect(parts[1].count <= 63 && (parts[1].isEmpty || (try? name.wholeMatch(in: parts[1])) != nil), "\(line)")
      labels += 1
    }
    #expect(labels >= 7)
  }

  @Test func nfdLabelsForTheAW39Snapshot() throws {
    let text = try Golden.run(["--host", "snapshots/v1-intel-aw39.json", "export", "--format", "nfd"]).stdout
    for line in [
      "iommu.vendor=intel", "iommufd=true", "aw-bits.min=39", "viommu.intel=true", "viommu.intel.aw-bits=39",
      "viommu.intel.x-flts=false",
    ] {
      #expect(text.contains("hiodctl.feature.node.kubernetes.io/\(line)\n"), "\(line)")
    }
  }

  /// ansible-core's own local-facts loader reads the file as `ansible_local.hiodctl`.
  @Test(.enabled(if: Consumers.hasAnsible, "needs ansible-core"))
  func ansibleLoadsTheFacts() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-facts-\(getpid())")
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let outcome = try Golden.run([
      "--host", "snapshots/v1-intel-aw39.json", "export", "--format", "ansible", "-o", directory.path + "/hiodctl.fact",
    ])
    #expect(outcome.status == 0)
    let (status, output) = try runProgram(
      "/usr/bin/ansible",
      [
        "localhost", "-c", "local", "-i", "localhost,", "-m", "setup", "-a",
        "fact_path=\(directory.path) filter=ansible_local",
      ],
      environment: ["ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_NOCOLOR": "1", "HOME": directory.path])
    #expect(status == 0, "\(output)")
    let json = try #require(output.split(separator: "=>", maxSplits: 1).last)
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    let local = (object?["ansible_facts"] as? [String: Any])?["ansible_local"] as? [String: Any]
    let facts = try #require(local?["hiodctl"] as? [String: Any], "ansible did not parse the facts: \(output)")
    #expect((facts["iommu"] as? [String: Any])?["vendor"] as? String == "intel")
    #expect(facts["aw_bits_min"] as? Int == 39)
    #expect(((facts["viommu"] as? [String: Any])?["intel"] as? [String: Any])?["aw_bits"] as? Int == 39)
  }

  @Test func ansibleAlwaysExitsZeroWithTheErrorInside() throws {
    let outcome = try Golden.run(["--host", "snapshots/no-such.json", "export", "--format", "ansible"])
    #expect(outcome.status == 0)
    let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
    #expect((object?["error"] as? String)?.hasPrefix("cannot read snapshot snapshots/no-such.json") == true)
  }

  /// -o replaces the file atomically: a reader polling it while it is rewritten again and
  /// again only ever sees a whole document (NFD and node_exporter read at any moment).
  @Test(.timeLimit(.minutes(2)))
  func outputFileIsReplacedAtomically() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-atomic-\(getpid())")
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.path + "/hiodctl.prom"
    let arguments = ["--host", "snapshots/v1-intel-aw48.json", "export", "--format", "prometheus", "-o", path]
    _ = try Golden.run(arguments)
    let complete = try String(contentsOfFile: path, encoding: .utf8)
    #expect(complete.contains("\nhiod_viommu_intel_max_aw_bits 48\n") && complete.contains("\nhiod_host_ready "))
    #expect(complete.hasSuffix("\n"))

    let stop = ManagedAtomicFlag()
    let reader = Thread {
      var reads = 0
      var torn = 0
      while !stop.isSet {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
          reads += 1
          if text != complete { torn += 1 }
        }
      }
      stop.record(reads: reads, torn: torn)
    }
    reader.start()
    for _ in 0..<40 { _ = try Golden.run(arguments) }
    stop.set()
    while !stop.finished { usleep(1000) }
    #expect(stop.reads > 0)
    #expect(stop.torn == 0, "a reader saw a partial file \(stop.torn) times")
    // No temporary dot-files are left behind.
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["hiodctl.prom"])
  }
}

/// A stop flag and result box shared with the reader thread.
final class ManagedAtomicFlag: @unchecked Sendable {
  private let lock = NSLock()
  private var stopped = false
  private(set) var finished = false
  private(set) var reads = 0
  private(set) var torn = 0

  var isSet: Bool { lock.withLock { stopped } }
  func set() { lock.withLock { stopped = true } }
  func record(reads: Int, torn: Int) {
    lock.withLock {
      self.reads = reads
      self.torn = torn
      finished = true
    }
  }
}
