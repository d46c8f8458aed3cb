// hiodctl tests — golden tests of what people and scripts read: the built binary's
// stdout, stderr and exit status, compared with Tests/hiodctlTests/Golden/<name>.txt.
// Set RECORD_GOLDEN=1 to rewrite the files after an intended change, and review the diff.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

struct GoldenCase: CustomTestStringConvertible, Sendable {
  let name: String
  let arguments: [String]
  /// Variables added to the pinned environment (`SOURCE_DATE_EPOCH=…`).
  var environment: [String: String] = [:]
  /// A file under Tests/Fixtures given as standard input.
  var stdin: String?
  var testDescription: String { name }

  init(_ name: String, _ arguments: String, environment: [String: String] = [:], stdin: String? = nil) {
    self.name = name
    self.arguments = arguments.split(separator: " ").map(String.init)
    self.environment = environment
    self.stdin = stdin
  }

  /// The transcript's first line: the command as a shell would run it.
  var header: String {
    let variables = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value) " }.joined()
    return "$ \(variables)hiodctl \(arguments.joined(separator: " "))\(stdin.map { " < \($0)" } ?? "")\n"
  }
}

enum Golden {
  static let cases: [GoldenCase] = [
    // Help and version.
    GoldenCase("help", "--help"),
    GoldenCase("help-short", "-h"),
    GoldenCase("list-help", "list --help"),
    GoldenCase("version", "--version"),
    // list on each fixture, text and JSON.
    GoldenCase("list-intel-host", "--sysroot synthetic/intel-host list"),
    GoldenCase("list-intel-host-json", "--sysroot synthetic/intel-host --json list"),
    GoldenCase("list-intel-host-numeric", "--sysroot synthetic/intel-host -n list"),
    GoldenCase("list-no-iommu", "--sysroot synthetic/no-iommu list"),
    GoldenCase("list-no-iommu-json", "--sysroot synthetic/no-iommu list --json"),
    GoldenCase("list-noiommu-mode", "--sysroot synthetic/noiommu-mode list"),
    GoldenCase("list-broken", "--sysroot synthetic/broken list"),
    GoldenCase("list-broken-json", "--sysroot synthetic/broken --json list"),
    // Trees captured from the VM rig's real kernels.
    GoldenCase("list-captured-intel-aw39", "--sysroot captured/intel-aw39 list"),
    GoldenCase("list-captured-amd", "--sysroot captured/amd list"),
    GoldenCase("list-captured-virtio", "--sysroot captured/virtio list"),
    GoldenCase("list-captured-multifunction-json", "--sysroot captured/multifunction --json list -s 01:"),
    GoldenCase("caps-captured-amd", "--sysroot captured/amd caps --backend sysfs 00:03.0"),
    // Filters.
    GoldenCase("list-slot", "--sysroot synthetic/intel-host list -s 00:04"),
    GoldenCase("list-slot-wide-domain", "--sysroot synthetic/intel-host list -s 10000:00:02.0"),
    GoldenCase("list-id", "--sysroot synthetic/intel-host list -d 144d:"),
    GoldenCase("list-class", "--sysroot synthetic/intel-host list -d ::0604"),
    GoldenCase("list-vfio", "--sysroot synthetic/intel-host list --vfio"),
    GoldenCase("list-vfio-json", "--sysroot synthetic/intel-host --json list --vfio -d 8086:"),
    // Runtime errors (exit 3).
    GoldenCase("error-slot-no-match", "--sysroot synthetic/intel-host list -s 00:1f.7"),
    GoldenCase("error-vfio-no-match", "--sysroot synthetic/no-iommu list --vfio"),
    GoldenCase("error-sysroot-without-sys", "--sysroot synthetic list"),
    // Usage errors (exit 64).
    GoldenCase("error-unknown-option", "--jsn list"),
    GoldenCase("error-unknown-command", "lst"),
    GoldenCase("error-no-command", "--json"),
    GoldenCase("error-missing-value", "list -s"),
    GoldenCase("error-unexpected-argument", "list 0000:00:02.0"),
    GoldenCase("error-flag-with-value", "--json=1 list"),
    GoldenCase("error-bad-slot", "--sysroot synthetic/intel-host list -s 00:2g.0"),
    GoldenCase("error-bad-id", "--sysroot synthetic/intel-host list -d 8086"),
    GoldenCase("error-missing-sysroot", "--sysroot does-not-exist list"),
    // caps: on a captured tree the kernel backends cannot run, so auto falls back.
    GoldenCase("caps-help", "caps --help"),
    GoldenCase("caps-auto-prediction", "--sysroot synthetic/intel-host caps 00:02.0"),
    GoldenCase("caps-sysfs", "--sysroot synthetic/intel-host caps --backend sysfs 0000:01:00.0 10000:00:02.0"),
    GoldenCase("caps-sysfs-json", "--sysroot synthetic/intel-host --json caps --backend=sysfs 00:02.0"),
    GoldenCase("caps-legacy-json", "--sysroot synthetic/intel-host --json caps --backend legacy 00:04.0"),
    GoldenCase("caps-not-bound", "--sysroot synthetic/intel-host caps 00:03.0"),
    GoldenCase("caps-no-iommu", "--sysroot synthetic/no-iommu caps 00:02.0"),
    GoldenCase("caps-noiommu-mode", "--sysroot synthetic/noiommu-mode caps 00:03.0"),
    GoldenCase("error-caps-no-bdf", "--sysroot synthetic/intel-host caps"),
    GoldenCase("error-caps-bad-bdf", "--sysroot synthetic/intel-host caps 0000:00:2.0"),
    GoldenCase("error-caps-unknown-bdf", "--sysroot synthetic/intel-host caps 0000:05:00.0"),
    GoldenCase("error-caps-bad-backend", "caps --backend vfio 00:02.0"),
    // check: the vIOMMU models on trees captured from the rig.
    GoldenCase("check-help", "check --help"),
    GoldenCase("check-intel-aw48-on-aw39", "--sysroot captured/intel-aw39 check --viommu intel --aw-bits 48 00:02.0"),
    GoldenCase(
      "check-intel-aw39-sysfs",
      "--sysroot captured/intel-aw39 check --viommu intel --aw-bits 39 --backend sysfs 00:02.0"),
    GoldenCase(
      "check-intel-qemu-9.1", "--sysroot captured/intel-aw39 check --viommu intel --qemu 9.1 --backend sysfs --all"),
    GoldenCase(
      "check-intel-qemu-10.0", "--sysroot captured/intel-aw39 check --viommu intel --qemu 10.0 --backend sysfs --all"),
    GoldenCase(
      "check-intel-machine-9.1",
      "--sysroot captured/intel-aw39 check --viommu intel --machine pc-q35-9.1 --backend sysfs --all"),
    GoldenCase(
      "check-intel-caching-off",
      "--sysroot captured/intel-aw48 check --viommu intel --caching-mode off --backend sysfs --all"),
    GoldenCase("check-intel-json", "--sysroot captured/intel-aw48 --json check --viommu intel --backend sysfs --all"),
    GoldenCase(
      "check-intel-x-flts",
      "--sysroot captured/intel-sm check --viommu intel --x-scalable-mode on --x-flts --backend sysfs --all"),
    GoldenCase(
      "check-intel-suggest", "--sysroot synthetic/intel-host check --viommu intel --suggest --backend sysfs --all"),
    GoldenCase("check-virtio", "--sysroot captured/virtio check --viommu virtio --all"),
    GoldenCase("check-amd-dma-remap", "--sysroot captured/amd check --viommu amd --dma-remap on --backend sysfs --all"),
    GoldenCase("check-amd-qemu-10.1", "--sysroot captured/amd check --viommu amd --qemu 10.1 --backend sysfs --all"),
    GoldenCase(
      "check-smmuv3-accel", "--sysroot captured/intel-aw39 check --viommu smmuv3 --accel --backend sysfs --all"),
    GoldenCase("check-not-viable", "--sysroot captured/multifunction check --viommu intel --backend sysfs 01:00.0"),
    GoldenCase("error-check-no-viommu", "--sysroot captured/intel-aw39 check --all"),
    GoldenCase("error-check-no-devices", "--sysroot captured/intel-aw39 check --viommu intel"),
    GoldenCase("error-check-bdf-and-all", "--sysroot captured/intel-aw39 check --viommu intel --all 00:02.0"),
    GoldenCase("error-check-wrong-model-property", "check --viommu virtio --x-flts --all"),
    GoldenCase("error-check-bad-qemu", "check --viommu intel --qemu ten --all"),
    GoldenCase("error-check-bad-aw-bits", "check --viommu intel --aw-bits x48 --all"),
    GoldenCase("error-check-bad-model", "check --viommu vtd --all"),
    GoldenCase("error-check-no-vfio-devices", "--sysroot captured/no-iommu check --viommu intel --all"),
    // check on a VM given whole: a libvirt domain, a QEMU command line (the oracle guest's
    // kernel answers, recorded in its snapshot).
    GoldenCase(
      "check-domain-intel",
      "--host qemu-oracle/snapshots/intel-aw39.json check --qemu 10.0 --domain domains/intel-rootports.xml"),
    GoldenCase(
      "check-domain-virtio-json",
      "--host qemu-oracle/snapshots/intel-aw39.json --json check --qemu 11.1 --domain domains/virtio-same-group.xml"),
    GoldenCase(
      "check-argv-twice",
      """
      --host qemu-oracle/snapshots/intel-aw39.json check --qemu 10.0 -- qemu-system-x86_64 -M q35 -nodefaults \
      -device intel-iommu,caching-mode=on,aw-bits=39 -device vfio-pci,host=0000:00:03.0 \
      -device vfio-pci,host=0000:00:03.0
      """
    ),
    GoldenCase(
      "check-argv-iommufd-7.2",
      """
      --host qemu-oracle/snapshots/intel-aw39.json check --qemu 7.2 -- qemu-system-x86_64 -M q35 \
      -object iommufd,id=fd0 -device vfio-pci,host=0000:00:03.0,iommufd=fd0
      """
    ),
    GoldenCase(
      "check-argv-renamed-property",
      """
      --host qemu-oracle/snapshots/intel-aw39.json check --qemu 11.1 -- qemu-system-x86_64 -M q35 \
      -device intel-iommu,caching-mode=on,x-scalable-mode=on -device vfio-pci,host=0000:00:03.0
      """
    ),
    GoldenCase(
      "check-none-twice",
      "--host qemu-oracle/snapshots/intel-aw39.json check --viommu none --qemu 11.1 0000:00:03.0 0000:00:03.0"),
    GoldenCase("error-domain-malformed", "check --domain domains-bad/malformed.xml"),
    GoldenCase("error-domain-not-a-domain", "check --domain domains-bad/not-a-domain.xml"),
    GoldenCase("error-domain-no-hostdev", "check --domain domains-bad/no-hostdev.xml"),
    GoldenCase("error-domain-unknown-model", "check --domain domains-bad/unknown-model.xml"),
    GoldenCase("error-domain-unreadable", "check --domain domains-bad/does-not-exist.xml"),
    GoldenCase("error-domain-and-viommu", "check --viommu intel --domain domains/amd.xml"),
    GoldenCase("error-argv-no-driver", "check -- qemu-system-x86_64 -device ,host=0000:00:03.0"),
    GoldenCase(
      "error-argv-duplicate-id",
      "check -- qemu-system-x86_64 -device vfio-pci,host=0000:00:03.0,id=a -device vfio-pci,host=0000:00:04.0,id=a"),
    GoldenCase("error-argv-no-vfio", "check -- qemu-system-x86_64 -M q35 -device intel-iommu"),
    GoldenCase("error-argv-empty", "check --"),
    // Snapshots: taken on the rig's real kernels (Tests/vm/rig pool --save), answered offline.
    GoldenCase("snapshot-help", "snapshot --help"),
    GoldenCase("snapshot-sysroot", "--sysroot synthetic/noiommu-mode snapshot"),
    GoldenCase("list-host", "--host snapshots/v1-intel-aw39.json list"),
    GoldenCase(
      "list-two-hosts-json",
      "--host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json --json list --vfio"),
    GoldenCase("caps-host", "--host snapshots/v1-intel-aw39.json caps 00:02.0"),
    GoldenCase("caps-host-legacy-json", "--host snapshots/v1-intel-aw48.json --json caps --backend legacy 00:02.0"),
    GoldenCase(
      "caps-two-hosts-json",
      "--host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json --json caps --backend legacy 00:02.0"),
    GoldenCase("check-host", "--host snapshots/v1-intel-aw39.json check --viommu intel --aw-bits 48 --all"),
    GoldenCase(
      "check-pool-suggest",
      "check --host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json --viommu intel --suggest --all"),
    GoldenCase(
      "check-pool-json",
      """
      --json check --host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json \
      --viommu intel --suggest --all
      """
    ),
    GoldenCase(
      "check-pool-x-flts",
      """
      check --host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json \
      --viommu intel --x-scalable-mode on --x-flts --all
      """
    ),
    GoldenCase("error-host-missing", "--host snapshots/no-such.json list"),
    GoldenCase("error-host-not-a-snapshot", "--host captured/intel-aw39/truth.json list"),
    GoldenCase("error-host-and-sysroot", "--sysroot synthetic/intel-host --host snapshots/v1-intel-aw39.json list"),
    GoldenCase("error-snapshot-with-host", "--host snapshots/v1-intel-aw39.json snapshot"),
    // Fleet exports.
    GoldenCase("export-help", "export --help"),
    GoldenCase("export-nfd", "--host snapshots/v1-intel-aw48.json export --format nfd"),
    GoldenCase("export-prometheus", "--sysroot synthetic/intel-host export --format prometheus"),
    GoldenCase("export-ansible", "--host snapshots/v1-intel-aw39.json export --format ansible"),
    GoldenCase("export-ansible-error", "--sysroot does-not-exist export --format ansible"),
    GoldenCase("error-export-no-format", "export"),
    GoldenCase("error-export-bad-format", "export --format csv"),
    GoldenCase(
      "error-export-two-hosts",
      "--host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json export --format nfd"),
    // Issue 12. 1: --suggest exits with the suggested configuration's verdict (see
    // check-intel-suggest, 1: a device stays incompatible), and a pool's.
    GoldenCase("check-intel-suggest-fallback", "--sysroot synthetic/intel-host check --viommu intel --suggest --all"),
    GoldenCase(
      "check-pool-suggest-x-flts",
      """
      check --host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json \
      --viommu intel --x-scalable-mode on --x-flts --suggest --all
      """
    ),
    // 2: a prediction asked for is an answer (0); one fallen back to is undetermined (2).
    GoldenCase("check-intel-aw39-fallback", "--sysroot captured/intel-aw39 check --viommu intel --aw-bits 39 00:02.0"),
    GoldenCase("caps-sysfs-asked", "--sysroot captured/intel-aw39 caps --backend sysfs 00:02.0"),
    // 3: - is stdout for -o and stdin for --host.
    GoldenCase("export-nfd-output-dash", "--host snapshots/v1-intel-aw48.json export --format nfd -o -"),
    GoldenCase("list-host-stdin", "--host - list --vfio", stdin: "snapshots/v1-intel-aw39.json"),
    GoldenCase("error-host-stdin-twice", "--host - --host - list"),
    // 6: a missing input is 3 everywhere (error-missing-sysroot, error-host-missing).
    // 7: --json failures print an error document; --json --version a version document.
    GoldenCase("error-json-unknown-option", "--json --jsn list"),
    GoldenCase("error-json-missing-sysroot", "--json --sysroot does-not-exist list"),
    GoldenCase("error-json-no-match", "--json --sysroot synthetic/intel-host list -s 00:1f.7"),
    GoldenCase("error-json-export-nfd", "--json --host snapshots/v1-intel-aw48.json export --format nfd"),
    GoldenCase("version-json", "--json --version"),
    GoldenCase("export-ansible-error-json", "--json --sysroot does-not-exist export --format ansible"),
    // 8: repeated options are refused, except -s/-d (merged as lspci) and -nn (as lspci).
    GoldenCase("error-repeated-viommu", "check --viommu intel --viommu virtio --all"),
    GoldenCase("error-repeated-output", "snapshot -o a.json -o b.json"),
    GoldenCase("error-repeated-property", "check --viommu intel --aw-bits 39 --aw-bits 48 --all"),
    GoldenCase("list-slot-merged", "--sysroot synthetic/intel-host list -s 00:04 -s .1"),
    GoldenCase("list-id-merged", "--sysroot synthetic/intel-host list -d 8086: -d :10d3"),
    GoldenCase("list-nn", "--sysroot synthetic/intel-host -nn list -s 00:04"),
    GoldenCase("error-nnn", "--sysroot synthetic/intel-host -nnn list"),
    // 10: bad values refused with a reason.
    GoldenCase(
      "error-source-date-epoch", "--sysroot synthetic/noiommu-mode snapshot",
      environment: ["SOURCE_DATE_EPOCH": "99999999999999999"]),
    GoldenCase(
      "error-source-date-epoch-text", "--host snapshots/v1-intel-aw48.json export --format nfd",
      environment: ["SOURCE_DATE_EPOCH": "yesterday"]),
    GoldenCase("error-host-schema-zero", "--host snapshots-bad/schema-zero.json list"),
    GoldenCase("error-host-schema-negative", "--host snapshots-bad/schema-negative.json list"),
    GoldenCase("error-host-schema-string", "--host snapshots-bad/schema-string.json list"),
    GoldenCase("error-caps-bad-function", "--sysroot synthetic/intel-host caps 0000:00:1f.8"),
    GoldenCase("error-caps-bad-slot", "--sysroot synthetic/intel-host caps 00:20.0"),
    GoldenCase(
      "check-intel-aw-bits-65",
      "--sysroot captured/intel-aw39 check --viommu intel --aw-bits 65 --backend sysfs -q --all"),
    GoldenCase("error-check-aw-bits-256", "check --viommu intel --aw-bits 256 --all"),
    // 12: -q prints the verdicts and the summary.
    GoldenCase("check-quiet", "--sysroot synthetic/intel-host check --viommu intel --backend sysfs -q --all"),
    // 15: hints that name the input, and the version a snapshot asks for.
    GoldenCase("error-host-too-new", "--host snapshots-bad/too-new.json list"),
    GoldenCase("error-caps-unknown-bdf-host", "--host snapshots/v1-intel-aw39.json caps 0000:05:00.0"),
    GoldenCase("error-list-vfio-no-iommu", "--sysroot captured/no-iommu list --vfio"),
    GoldenCase("caps-no-iommu-captured", "--sysroot captured/no-iommu caps 00:02.0"),
    // hiodctl host.
    GoldenCase("host-help", "host --help"),
    GoldenCase("host-intel-aw39", "--sysroot captured/intel-aw39 host"),
    GoldenCase("host-virtio", "--sysroot captured/virtio host"),
    GoldenCase("host-no-iommu", "--sysroot captured/no-iommu host"),
    GoldenCase("host-noiommu-mode", "--sysroot synthetic/noiommu-mode host"),
    GoldenCase("host-intel-host-quiet", "--sysroot synthetic/intel-host host -q"),
    GoldenCase("host-virtio-json", "--sysroot captured/virtio --json host"),
    GoldenCase("host-snapshot", "--host snapshots/v1-intel-aw39.json host"),
    GoldenCase(
      "host-two-snapshots-json",
      "--host snapshots/v1-intel-aw39.json --host snapshots/v1-intel-aw48.json --json host -q"),
    GoldenCase("export-nfd-no-iommu", "--sysroot captured/no-iommu export --format nfd"),
    GoldenCase("export-ansible-virtio", "--sysroot captured/virtio export --format ansible"),
    GoldenCase("export-prometheus-virtio", "--sysroot captured/virtio export --format prometheus"),
  ]

  /// `Tests/` of this package.
  static let testsDirectory: String = {
    var components = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(2)
    return components.joined(separator: "/")
  }()

  /// The hiodctl binary of this build, unless HIODCTL_BIN says: the one next to the test
  /// executable, in the scratch path it was built in (`swift build --scratch-path
  /// .build-cli` puts both in .build-cli/<triple>/debug), never a binary of another
  /// build directory or one on PATH.
  static let binary: URL = {
    if let path = ProcessInfo.processInfo.environment["HIODCTL_BIN"] {
      return URL(fileURLWithPath: path)
    }
    let executable =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
    // The test executable sits in the build directory itself, or inside an .xctest bundle
    // there; stop at the scratch directory (the one holding the build directories).
    for _ in 0..<3 {
      let candidate = directory.appendingPathComponent("hiodctl")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
      directory.deleteLastPathComponent()
    }
    preconditionFailure("no hiodctl next to the test executable \(executable): build it in the same scratch path")
  }()

  struct Outcome: Equatable {
    var status: Int32
    var stdout: String
    var stderr: String

    var transcript: String {
      "--- exit status\n\(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
    }
  }

  /// Runs the binary from Tests/Fixtures with a pinned environment (plus `environment`);
  /// `asUser` runs it through setpriv(1) as that unprivileged user; `stdin` is a file
  /// (relative to Tests/Fixtures) for standard input; `stdout` a file to write standard
  /// output to instead of capturing it (/dev/full).
  static func run(
    _ arguments: [String], asUser user: String? = nil, environment: [String: String] = [:],
    stdin: String? = nil, stdout: String? = nil, directory: String? = nil
  ) throws -> Outcome {
    let process = Process()
    if let user {
      process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      process.arguments = ["--reuid", user, "--regid", "nogroup", "--clear-groups", binary.path] + arguments
    } else {
      process.executableURL = binary
      process.arguments = arguments
    }
    process.currentDirectoryURL = URL(fileURLWithPath: directory ?? testsDirectory + "/Fixtures")
    // SOURCE_DATE_EPOCH pins the time snapshots and exports record.
    process.environment = ["LC_ALL": "C", "COLUMNS": "80", "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1795000000"]
      .merging(environment) { _, new in new }
    if let stdin {
      let path = stdin.hasPrefix("/") ? stdin : testsDirectory + "/Fixtures/" + stdin
      process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    }
    let captured = try capture(process, stdout: stdout)
    return Outcome(
      status: captured.status, stdout: String(decoding: captured.stdout, as: UTF8.self),
      stderr: String(decoding: captured.stderr, as: UTF8.self))
  }

  /// Runs `process` to its end and returns its exit status and the bytes it wrote
  /// (standard output goes to the file `stdout` instead, when given: nothing is captured).
  /// Files, not pipes: reading one pipe to its end while the child fills the other would
  /// deadlock as soon as a run writes more than a pipe buffer to stderr.
  static func capture(_ process: Process, stdout: String? = nil) throws -> (status: Int32, stdout: Data, stderr: Data) {
    let scratch = FileManager.default.temporaryDirectory
      .appendingPathComponent("hiodctl-run-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: stdout.map { URL(fileURLWithPath: $0) } ?? outURL)
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    try out.close()
    try err.close()
    return (process.terminationStatus, try Data(contentsOf: outURL), try Data(contentsOf: errURL))
  }
}

extension Golden {
  /// Where a transcript first departs from its golden file, as one line a CI log's
  /// summary can carry: "line 7: expected «…», got «…»".
  static func firstDifference(expected: String, actual: String) -> String {
    let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let got = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(want.count, got.count) {
      let wanted = index < want.count ? "«\(want[index])»" : "nothing"
      let found = index < got.count ? "«\(got[index])»" : "nothing"
      if wanted != found { return "line \(index + 1): expected \(wanted), got \(found)" }
    }
    return "no line differs"
  }
}

struct GoldenTests {
  @Test(arguments: Golden.cases)
  func matchesGolden(_ example: GoldenCase) throws {
    let outcome = try Golden.run(example.arguments, environment: example.environment, stdin: example.stdin)
    let file = "\(Golden.testsDirectory)/hiodctlTests/Golden/\(example.name).txt"
    let actual = example.header + outcome.transcript
    if ProcessInfo.processInfo.environment["RECORD_GOLDEN"] != nil {
      try actual.write(toFile: file, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOfFile: file, encoding: .utf8)
    // One line per failing case (not the two transcripts), so a CI log's summary names
    // the case and the first line that differs.
    if actual != expected {
      Issue.record(
        """
        golden \(example.name): \(Golden.firstDifference(expected: expected, actual: actual)); \
        rerun with RECORD_GOLDEN=1 to update \(file) if intended
        """
      )
    }
  }

  @Test func everyGoldenFileHasACase() throws {
    let files = try FileManager.default.contentsOfDirectory(
      atPath: "\(Golden.testsDirectory)/hiodctlTests/Golden")
    let names = Set(Golden.cases.map { "\($0.name).txt" })
    #expect(Set(files) == names)
  }

  @Test func helpGoesToStdoutAndExitsZero() throws {
    let outcome = try Golden.run(["list", "--help"])
    #expect(outcome.status == 0 && outcome.stderr.isEmpty && outcome.stdout.hasPrefix("OVERVIEW:"))
  }

  @Test func jsonIsOneParseableDocumentWithSchemaVersion() throws {
    let outcome = try Golden.run(["--sysroot", "synthetic/intel-host", "--json", "list"])
    let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
    #expect(object?["schema_version"] as? Int == 1)
    #expect((object?["devices"] as? [Any])?.count == 11)
  }
}
