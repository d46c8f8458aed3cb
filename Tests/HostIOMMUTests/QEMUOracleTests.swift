// hiodctl tests — real QEMU is the judge: every cell the VM rig's oracle ran in Debian's
// QEMU 7.2, 10.0 and 11.1 (Tests/Fixtures/qemu-oracle, recorded with `rig oracle
// --record`) is replayed through the checker with the kernel's answers of that guest
// (its snapshot), and the verdict and QEMU's first error must be what QEMU printed.
// The expected strings are QEMU's own output, not a copy of hiodctl's rules.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Testing

@testable import HostIOMMU

struct QEMUOracleTests {
  struct Cell: Decodable, CustomTestStringConvertible, Sendable {
    var id: String
    var mode: String
    var backend: String
    var qemu: [String]
    var verdict: String
    var error: String?
    var release: String = ""
    var kind: String = ""

    var testDescription: String { "\(release) \(kind) \(id)" }

    enum CodingKeys: String, CodingKey { case id, mode, backend, qemu, verdict, error }
  }

  struct Recording: Decodable {
    var kind: String
    var release: String
    var cells: [Cell]
  }

  static let directory = Fixtures.path("qemu-oracle")

  static func recordings() -> [Recording] {
    guard case .success(let names) = SystemRoot.host.directoryEntries(directory) else { return [] }
    return names.sorted().filter { $0.hasSuffix(".json") }.compactMap { name in
      guard case .success(let bytes) = SystemRoot.host.readBytes("\(directory)/\(name)", limit: 64 << 20) else {
        return nil
      }
      return try? JSONDecoder().decode(Recording.self, from: Data(bytes))
    }
  }

  static let cells: [Cell] = recordings().flatMap { recording in
    recording.cells.map { cell in
      var cell = cell
      cell.release = recording.release
      cell.kind = recording.kind
      return cell
    }
  }

  @Test func theRecordingsCoverEveryReleaseAndHostKind() {
    let pairs = Set(Self.cells.map { "\($0.release) \($0.kind)" })
    for release in ["7.2", "10.0", "11.1"] {
      for kind in ["intel-aw39", "intel-aw48", "intel-sm", "amd", "virtio", "virtio-unsafe"] {
        #expect(pairs.contains("\(release) \(kind)"), "no recorded oracle cells for QEMU \(release) on \(kind)")
      }
    }
    #expect(Self.cells.count > 1000)
    #expect(Self.cells.contains { $0.mode == "run" && $0.verdict == "dma-fails" })
    #expect(Self.cells.contains { $0.mode == "run" && $0.verdict == "works" })
  }

  @Test(arguments: cells)
  func hiodctlAgreesWithQEMU(_ cell: Cell) throws {
    let snapshot = try HostSnapshot.load("\(Self.directory)/snapshots/\(cell.kind).json")
    let parsed = try QEMUCommandLine.parse(cell.qemu)
    let release = try #require(QEMUVersion(cell.release))
    // As `check -- QEMU-ARGV` builds it (ParsedCommandLine.configuration, .vm).
    let configuration = parsed.configuration(qemu: release)
    let realizer = snapshot.realizer
    let inputs = parsed.invocation.devices.map { assigned -> DeviceCheckInput in
      let device = snapshot.inventory.devices.first { $0.address == assigned.host }!
      // As `check -- QEMU-ARGV` realizes it: legacy, or iommufd when QEMU uses it and
      // the check needs hw_info.
      let realization = realizer.realize(
        device, in: snapshot.inventory, backend: .auto,
        preferIOMMUFD: parsed.vm.needsIOMMUFDAnswer(for: assigned.host, configuration))
      return DeviceCheckInput(
        device: device, realization: realization, group: snapshot.inventory.group(device.iommuGroup))
    }
    let report = VIOMMUChecker.check(
      configuration, devices: inputs, host: snapshot.inventory.facts, invocation: parsed.vm)

    switch cell.verdict {
    case "starts":
      #expect(
        report.verdict == .works || report.verdict == .dmaFails,
        "QEMU started; hiodctl: \(report.qemuError?.line ?? "\(report.verdict)")")
    case "works", "dma-fails":
      #expect(report.verdict.rawValue == cell.verdict)
    default:
      #expect(report.verdict == .refuses, "QEMU refused: \(cell.error ?? "")")
      let predicted = report.qemuError?.message
      #expect(
        Self.matches(predicted, cell.error), "QEMU: \(cell.error ?? "nil")\nhiodctl: \(predicted ?? "nil")")
    }
  }

  /// Equal, except for the values a QEMU process invents: `<fd>` and `<id>` match a
  /// decimal number, `<ptr>` a hex one.
  static func matches(_ predicted: String?, _ actual: String?) -> Bool {
    guard let predicted, let actual else { return predicted == actual }
    var rest = Substring(actual)
    var pattern = Substring(predicted)
    while !pattern.isEmpty {
      if pattern.hasPrefix("<fd>") || pattern.hasPrefix("<id>") {
        pattern = pattern.dropFirst(4)
        let digits = rest.prefix { $0.isNumber }
        guard !digits.isEmpty else { return false }
        rest = rest.dropFirst(digits.count)
      } else if pattern.hasPrefix("<ptr>") {
        pattern = pattern.dropFirst(5)
        guard rest.hasPrefix("0x") else { return false }
        let digits = rest.dropFirst(2).prefix { $0.isHexDigit }
        guard !digits.isEmpty else { return false }
        rest = rest.dropFirst(2 + digits.count)
      } else {
        guard rest.first == pattern.first else { return false }
        rest = rest.dropFirst()
        pattern = pattern.dropFirst()
      }
    }
    return rest.isEmpty
  }

  @Test func theMatcherCanFail() {
    #expect(
      Self.matches(
        "error bind device fd=<fd> to iommufd=<fd>: Invalid argument",
        "error bind device fd=15 to iommufd=9: Invalid argument"))
    #expect(
      !Self.matches(
        "error bind device fd=<fd> to iommufd=<fd>: Invalid argument",
        "error bind device fd=15 to iommufd=9: Operation not permitted"))
    #expect(!Self.matches("aw-bits 48 > host aw-bits 39", "aw-bits 48 > host aw-bits 48"))
    #expect(!Self.matches("x", nil))
  }
}
