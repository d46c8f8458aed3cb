// hiodctl tests — the shell completions in completions/: they name every command,
// option and value the option table has, and bash, zsh and fish really complete with
// them (bash through COMP_WORDS, zsh through a pseudo-terminal, fish through
// `complete -C`). A shell that is not installed skips its tests, saying so; CI installs
// bash-completion, zsh and fish.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import HostIOMMU
import Testing

@testable import hiodctl

/// The completion files, the fixtures they are run against, and the shells.
enum Completions {
  /// completions/ of this package.
  static let directory = Golden.testsDirectory + "/../completions"
  static let bashFile = directory + "/hiodctl.bash"
  static let zshFile = directory + "/_hiodctl"
  static let fishFile = directory + "/hiodctl.fish"
  static let files = [bashFile, zshFile, fishFile]

  static let fixtures = Golden.testsDirectory + "/Fixtures"
  /// VFIO-bound: 0000:00:02.0 0000:00:04.0 0000:01:00.0 10000:00:02.0.
  static let intelHost = fixtures + "/synthetic/intel-host"
  static let intelHostVFIO: Set = ["0000:00:02.0", "0000:00:04.0", "0000:01:00.0", "10000:00:02.0"]
  /// No device bound to a VFIO driver.
  static let noIOMMU = fixtures + "/synthetic/no-iommu"
  /// The devices of Tests/Fixtures/snapshots/v1-intel-aw39.json.
  static let aw39VFIO: Set = ["0000:00:02.0"]
  static let aw39All: Set = [
    "0000:00:00.0", "0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3",
  ]

  /// The commands the completions offer: the table's and those on their way into it.
  static let commands: Set = Set(OptionTable.commands.map(\.name)).union(["snapshot", "export"])

  static let bashCompletion = "/usr/share/bash-completion/bash_completion"
  static let bash = program("bash")
  static let zsh = program("zsh")
  static let fish = program("fish")

  /// `name` on a standard PATH, or nil when it is not installed.
  static func program(_ name: String) -> String? {
    ["/usr/local/bin", "/usr/bin", "/bin"].map { "\($0)/\(name)" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  static func contents(_ file: String) -> String {
    (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
  }

  /// The devices of a fixture, by listing its sysfs.
  static func devices(of root: String) -> Set<String> {
    Set((try? FileManager.default.contentsOfDirectory(atPath: root + "/sys/bus/pci/devices")) ?? [])
  }

  /// `text` as one single-quoted shell word (bash, zsh and fish alike).
  static func quoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
  }

  /// Whether `word` occurs in `text` delimited as a word (not inside a longer option).
  static func containsWord(_ text: String, _ word: String) -> Bool {
    let pattern = "(^|[^A-Za-z0-9_.-])" + NSRegularExpression.escapedPattern(for: word) + "($|[^A-Za-z0-9_-])"
    return text.range(of: pattern, options: .regularExpression) != nil
  }

  struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
  }

  /// Runs `executable` from Tests/Fixtures with a pinned environment and a scratch HOME.
  static func run(_ executable: String, _ arguments: [String], home: String) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: fixtures)
    process.environment = [
      // The hiodctl under test first: the completions ask it for its QEMU releases.
      "LC_ALL": "C", "PATH": Golden.binary.deletingLastPathComponent().path + ":/usr/local/bin:/usr/bin:/bin",
      "HOME": home, "TERM": "dumb",
      "XDG_CONFIG_HOME": home + "/.config", "XDG_DATA_HOME": home + "/.local/share",
    ]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Outcome(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// A scratch directory (removed by the caller): a.json, b.txt and sub/.
  static func scratch() throws -> String {
    let path = FileManager.default.temporaryDirectory
      .appendingPathComponent("hiodctl-completions-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
    for file in ["a.json", "b.txt"] {
      _ = FileManager.default.createFile(atPath: "\(path)/\(file)", contents: Data())
    }
    return path
  }
}

// MARK: - Every command, option and value of the table is in every file

struct CompletionContentTests {
  static let fileNames = ["hiodctl.bash", "_hiodctl", "hiodctl.fish"]

  static func path(_ name: String) -> String { Completions.directory + "/" + name }

  /// fish declares `--slot` as `-l slot` and `-s` as `-s s`.
  static func mentions(_ text: String, _ spelling: String, fish: Bool) -> Bool {
    guard fish else { return Completions.containsWord(text, spelling) }
    let declared = spelling.hasPrefix("--") ? "-l \(spelling.dropFirst(2))" : "-s \(spelling.dropFirst())"
    return text.range(of: NSRegularExpression.escapedPattern(for: declared) + "( |$)", options: .regularExpression)
      != nil
  }

  @Test(arguments: fileNames)
  func namesEveryOptionSpelling(_ name: String) {
    let text = Completions.contents(Self.path(name))
    #expect(!text.isEmpty, "completions/\(name) is missing or empty")
    for spelling in OptionTable.allOptions.flatMap(\.spellings) {
      let found = Self.mentions(text, spelling, fish: name.hasSuffix(".fish"))
      #expect(found, "completions/\(name) lacks \(spelling)")
    }
  }

  @Test(arguments: fileNames)
  func namesEveryCommand(_ name: String) {
    let text = Completions.contents(Self.path(name))
    for command in Completions.commands {
      let found = Completions.containsWord(text, command)
      #expect(found, "completions/\(name) lacks the command \(command)")
    }
  }

  @Test(arguments: fileNames)
  func namesEveryChoiceAndQEMURelease(_ name: String) {
    let text = Completions.contents(Self.path(name))
    for option in OptionTable.allOptions {
      guard case .choice(let words) = option.valueKind else { continue }
      for word in words {
        let found = Completions.containsWord(text, word)
        #expect(found, "completions/\(name) lacks \(word) for \(option.long)")
      }
    }
    // The releases come from the binary's own table, not a list kept here in step.
    #expect(text.contains("command hiodctl check --qemu help"), "completions/\(name) does not ask hiodctl")

  }

  /// zsh spells an option that takes a value `--name=`, a flag without the `=`.
  @Test func zshDeclaresValuesAsTheTableDoes() {
    let text = Completions.contents(Completions.zshFile)
    for option in OptionTable.allOptions {
      let declaredWithValue = text.contains("\(option.long)=")
      #expect(
        declaredWithValue == option.takesValue,
        "_hiodctl: \(option.long) \(option.takesValue ? "takes a value" : "is a flag") in the table")
    }
  }

  /// fish declares an option that takes a value with -x or -r, a flag with neither.
  @Test func fishDeclaresValuesAsTheTableDoes() {
    let lines = Completions.contents(Completions.fishFile).split(separator: "\n")
      .filter { $0.hasPrefix("complete -c hiodctl") }
    for option in OptionTable.allOptions {
      let declarations = lines.filter {
        $0.range(of: "-l \(option.long.dropFirst(2))( |$)", options: .regularExpression) != nil
      }
      #expect(!declarations.isEmpty, "hiodctl.fish does not declare \(option.long)")
      for line in declarations {
        let flags = line.components(separatedBy: " -d ")[0]
        let takesValue = flags.contains(" -x") || flags.contains(" -r")
        #expect(takesValue == option.takesValue, "hiodctl.fish: \(line)")
      }
    }
  }
}

// MARK: - bash, exercised through COMP_WORDS

/// With bash-completion's bash_completion sourced first (as on a desktop; the package
/// bash-completion, which CI installs: without it this mode runs like `plain`), and
/// without it (a minimal system): the file works alone and with it.
enum BashMode: String, CaseIterable, CustomTestStringConvertible, Sendable {
  case plain
  case withBashCompletion
  var testDescription: String { rawValue }
}

enum BashCompletion {
  /// COMP_WORDS as bash makes them: words split at blanks, and ':' and '=' (from
  /// COMP_WORDBREAKS) as words of their own: `--sysroot=/t` is `--sysroot` `=` `/t`.
  static func compWords(_ line: String, breaks: Set<Character> = [":", "="]) -> [String] {
    var words: [String] = []
    for blankDelimited in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
      var current = ""
      var currentIsBreak = false
      for character in blankDelimited {
        let isBreak = breaks.contains(character)
        if !current.isEmpty && isBreak != currentIsBreak {
          words.append(current)
          current = ""
        }
        current.append(character)
        currentIsBreak = isBreak
      }
      words.append(current)
    }
    if line.isEmpty || line.last == " " {
      words.append("")
    }
    return words
  }

  /// Runs completion for `line` (the cursor at its end) and returns COMPREPLY; lines the
  /// `epilogue` prints come back after a `--- epilogue` line. `breaks`: the ':' and '='
  /// left in COMP_WORDBREAKS (some users remove them).
  static func complete(
    _ line: String, mode: BashMode, prelude: String = "", epilogue: String = "",
    breaks: Set<Character> = [":", "="]
  ) throws -> (replies: [String], epilogue: [String]) {
    let words = compWords(line, breaks: breaks)
    let removed = ":=".filter { !breaks.contains($0) }
    let sourceBashCompletion =
      mode == .withBashCompletion
      ? "[[ -r \(Completions.bashCompletion) ]] && source \(Completions.bashCompletion)" : ""
    let script = """
      \(sourceBashCompletion)
      source \(Completions.quoted(Completions.bashFile)) || exit 90
      \(prelude)
      \(removed.isEmpty ? "" : "COMP_WORDBREAKS=${COMP_WORDBREAKS//[\(removed)]/}")
      COMP_WORDS=(\(words.map(Completions.quoted).joined(separator: " ")))
      COMP_CWORD=\(words.count - 1)
      COMP_LINE=\(Completions.quoted(line))
      COMP_POINT=\(line.utf8.count)
      COMPREPLY=()
      _hiodctl hiodctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
      for reply in "${COMPREPLY[@]}"; do printf 'reply %s\\n' "$reply"; done
      echo '--- epilogue'
      \(epilogue)
      """
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let outcome = try Completions.run(Completions.bash!, ["--norc", "--noprofile", "-c", script], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "bash for '\(line)': \(outcome.status) \(outcome.stderr)")
    let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let marker = lines.firstIndex(of: "--- epilogue") ?? lines.endIndex
    let replies = lines[..<marker].filter { $0.hasPrefix("reply ") }.map { String($0.dropFirst(6)) }
    let rest = lines[marker...].dropFirst().filter { !$0.isEmpty }
    return (replies, Array(rest))
  }

  static func offers(_ line: String, _ mode: BashMode) throws -> Set<String> {
    Set(try complete(line, mode: mode).replies)
  }
}

@Suite(.enabled(if: Completions.bash != nil, "bash is not installed"))
struct BashCompletionTests {
  @Test(arguments: BashMode.allCases)
  func offersTheCommands(_ mode: BashMode) throws {
    #expect(try BashCompletion.offers("hiodctl ", mode) == ["list", "caps", "check", "host", "snapshot", "export"])
    #expect(try BashCompletion.offers("hiodctl ", mode).isSuperset(of: OptionTable.commands.map(\.name)))
    #expect(try BashCompletion.offers("hiodctl --json -n ", mode) == Completions.commands)
    #expect(try BashCompletion.offers("hiodctl --sysroot /tmp ", mode) == Completions.commands)
    #expect(try BashCompletion.offers("hiodctl ch", mode) == ["check"])
  }

  @Test(arguments: BashMode.allCases)
  func offersTheVIOMMUModels(_ mode: BashMode) throws {
    let models = Set(VIOMMUModel.allCases.map(\.rawValue))
    #expect(models == ["intel", "virtio", "smmuv3", "amd", "none"])
    #expect(try BashCompletion.offers("hiodctl check --viommu ", mode) == models)
    #expect(try BashCompletion.offers("hiodctl check --viommu=", mode) == models)
    #expect(try BashCompletion.offers("hiodctl check --viommu=sm", mode) == ["smmuv3"])
    #expect(try BashCompletion.offers("hiodctl --json check --all --viommu ", mode) == models)
  }

  /// Every `.choice` option of the table offers exactly its words.
  @Test(arguments: BashMode.allCases)
  func offersEveryChoiceOfTheTable(_ mode: BashMode) throws {
    for command in OptionTable.commands {
      for option in command.options {
        guard case .choice(let words) = option.valueKind else { continue }
        for spelling in option.spellings {
          let line = "hiodctl \(command.name) \(spelling) "
          #expect(try BashCompletion.offers(line, mode) == Set(words), "\(line)")
        }
      }
    }
  }

  /// What the completions ask: `check --qemu help` prints the release table, one a line.
  @Test func qemuHelpListsTheReleaseTable() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let outcome = try Completions.run(Golden.binary.path, ["check", "--qemu", "help"], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
    #expect(outcome.lines == QEMUVersion.known.map(\.description))
  }

  @Test(arguments: BashMode.allCases)
  func offersTheKnownQEMUReleases(_ mode: BashMode) throws {
    let known = QEMUVersion.known.map(\.description)
    #expect(try BashCompletion.offers("hiodctl check --qemu ", mode) == Set(known))
    #expect(try BashCompletion.offers("hiodctl check --qemu 1", mode) == Set(known.filter { $0.hasPrefix("1") }))
  }

  @Test(arguments: BashMode.allCases)
  func offersTheOtherValues(_ mode: BashMode) throws {
    #expect(try BashCompletion.offers("hiodctl caps --backend ", mode) == Set(BackendChoice.allCases.map(\.rawValue)))
    #expect(try BashCompletion.offers("hiodctl check --granule ", mode) == Set(Granule.allCases.map(\.rawValue)))
    #expect(try BashCompletion.offers("hiodctl check --granule ", mode) == ["4k", "8k", "16k", "64k", "host"])
    for option in ["--caching-mode", "--x-scalable-mode", "--fs1gp", "--ril", "--ats", "--dma-remap"] {
      #expect(try BashCompletion.offers("hiodctl check \(option) ", mode) == ["on", "off"], "\(option)")
    }
    #expect(try BashCompletion.offers("hiodctl check --aw-bits ", mode) == ["39", "48"])
    #expect(try BashCompletion.offers("hiodctl check --oas ", mode) == ["44", "48"])
    #expect(
      try BashCompletion.offers("hiodctl check --machine ", mode).isSuperset(of: [
        "q35", "pc-q35-9.1", "pc-q35-10.0", "virt",
      ]))
    #expect(try BashCompletion.offers("hiodctl check --machine pc-q35-1", mode) == ["pc-q35-10.0"])
    #expect(try BashCompletion.offers("hiodctl export --format ", mode) == ["nfd", "prometheus", "ansible"])
    #expect(try BashCompletion.offers("hiodctl export --format=p", mode) == ["prometheus"])
  }

  /// caps and check offer the devices bound to a VFIO driver, read from --sysroot.
  @Test(arguments: BashMode.allCases)
  func offersTheVFIOBoundDevicesOfTheSysroot(_ mode: BashMode) throws {
    let root = Completions.intelHost
    #expect(try BashCompletion.offers("hiodctl --sysroot \(root) caps ", mode) == Completions.intelHostVFIO)
    #expect(try BashCompletion.offers("hiodctl --sysroot=\(root) caps ", mode) == Completions.intelHostVFIO)
    #expect(try BashCompletion.offers("hiodctl caps --sysroot \(root) ", mode) == Completions.intelHostVFIO)
    #expect(
      try BashCompletion.offers("hiodctl --sysroot synthetic/intel-host -n caps --backend sysfs ", mode)
        == Completions.intelHostVFIO)
    #expect(
      try BashCompletion.offers("hiodctl --sysroot \(root) check --viommu intel ", mode) == Completions.intelHostVFIO)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(root) caps 1", mode) == ["10000:00:02.0"])
    // Readline replaces only what follows the last ':' of the word (COMP_WORDBREAKS).
    #expect(try BashCompletion.offers("hiodctl --sysroot \(root) caps 0000:01", mode) == ["01:00.0"])
    // hiodctl takes 01:00.0 for 0000:01:00.0.
    #expect(try BashCompletion.offers("hiodctl --sysroot \(root) caps 01:", mode) == ["00.0"])
    // --all and BDFs exclude each other.
    #expect(
      try BashCompletion.offers("hiodctl --sysroot \(root) check --all ", mode).isDisjoint(
        with: Completions.intelHostVFIO))
  }

  @Test(arguments: BashMode.allCases)
  func fallsBackToEveryDeviceWithoutVFIO(_ mode: BashMode) throws {
    let all = Completions.devices(of: Completions.noIOMMU)
    #expect(!all.isEmpty)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(Completions.noIOMMU) caps ", mode) == all)
  }

  @Test(arguments: BashMode.allCases)
  func offersEveryDeviceForSlot(_ mode: BashMode) throws {
    let all = Completions.devices(of: Completions.intelHost)
    #expect(all.count == 11)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) list -s ", mode) == all)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) list --slot ", mode) == all)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) list -ns ", mode) == all)
    #expect(try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) list -d 144", mode) == ["144d:a808"])
  }

  @Test(arguments: BashMode.allCases)
  func offersEachCommandsOptions(_ mode: BashMode) throws {
    #expect(try BashCompletion.offers("hiodctl list --", mode).isSuperset(of: ["--slot", "--vfio", "--json"]))
    let globals = Set(OptionTable.globalOptions.flatMap(\.spellings))
    let before = try BashCompletion.offers("hiodctl -", mode)
    #expect(before.isSuperset(of: globals))
    for command in OptionTable.commands {
      let own = Set(command.options.flatMap(\.spellings))
      #expect(
        try BashCompletion.offers("hiodctl \(command.name) -", mode) == globals.union(own).union(["--host"]),
        "\(command.name)")
      #expect(before.isDisjoint(with: own.subtracting(globals)), "\(command.name)'s options offered before it")
    }
    #expect(try BashCompletion.offers("hiodctl snapshot -", mode).isSuperset(of: ["-o", "--output", "--host"]))
    #expect(try BashCompletion.offers("hiodctl export --", mode).isSuperset(of: ["--format", "--output"]))
  }

  /// `--` ends the options: what follows is never completed as one.
  @Test(arguments: BashMode.allCases)
  func completesNoOptionAfterDoubleDash(_ mode: BashMode) throws {
    #expect(try BashCompletion.offers("hiodctl caps -- --b", mode).isEmpty)
    #expect(try BashCompletion.offers("hiodctl list -- --", mode).isEmpty)
    #expect(
      try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) check --viommu intel -- -", mode).isEmpty)
    #expect(
      try BashCompletion.offers("hiodctl --sysroot \(Completions.intelHost) caps -- ", mode)
        == Completions.intelHostVFIO)
    #expect(try BashCompletion.offers("hiodctl -- ", mode) == Completions.commands)
  }

  @Test(arguments: BashMode.allCases)
  func completesPaths(_ mode: BashMode) throws {
    let scratch = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    // --host: JSON files and directories to look in.
    #expect(try BashCompletion.offers("hiodctl --host \(scratch)/", mode) == ["\(scratch)/a.json", "\(scratch)/sub"])
    #expect(try BashCompletion.offers("hiodctl --sysroot \(scratch)/", mode) == ["\(scratch)/sub"])
    #expect(
      try BashCompletion.offers("hiodctl snapshot -o \(scratch)/", mode) == [
        "\(scratch)/a.json", "\(scratch)/b.txt", "\(scratch)/sub",
      ])
    #expect(try BashCompletion.offers("hiodctl export --output \(scratch)/b", mode) == ["\(scratch)/b.txt"])
  }

  /// With --host FILE on the line, the devices are the snapshot's, not the live host's
  /// (nor --sysroot's): VFIO-bound first for caps and check, all for -s, IDs for -d.
  @Test(arguments: BashMode.allCases)
  func offersTheDevicesOfTheSnapshot(_ mode: BashMode) throws {
    let snapshot = "snapshots/v1-intel-aw39.json"
    #expect(try BashCompletion.offers("hiodctl --host \(snapshot) caps ", mode) == Completions.aw39VFIO)
    #expect(try BashCompletion.offers("hiodctl --host=\(snapshot) check --viommu intel ", mode) == Completions.aw39VFIO)
    #expect(
      try BashCompletion.offers("hiodctl caps --host \(snapshot) --host snapshots/v1-intel-aw48.json ", mode)
        == Completions.aw39VFIO)
    #expect(try BashCompletion.offers("hiodctl --host \(snapshot) list -s ", mode) == Completions.aw39All)
    #expect(try BashCompletion.offers("hiodctl --host \(snapshot) list -d 8086:29c", mode) == ["29c0"])
    #expect(try BashCompletion.offers("hiodctl --host - caps ", mode).isEmpty)
    #expect(try BashCompletion.offers("hiodctl --host no-such.json caps ", mode).isEmpty)
  }

  @Test(arguments: BashMode.allCases)
  func offersHostAndQuiet(_ mode: BashMode) throws {
    #expect(try BashCompletion.offers("hiodctl h", mode) == ["host"])
    #expect(try BashCompletion.offers("hiodctl host -", mode).isSuperset(of: ["-q", "--quiet", "--json", "--host"]))
    #expect(try BashCompletion.offers("hiodctl check --q", mode).isSuperset(of: ["--quiet", "--qemu"]))
    #expect(
      try BashCompletion.offers("hiodctl check --domain domains/virtio-s", mode) == ["domains/virtio-same-group.xml"])
  }

  /// Without ':' and '=' in COMP_WORDBREAKS readline replaces the whole word, so the
  /// replies are whole words; with only ':' the part after the last ':'.
  @Test(arguments: BashMode.allCases)
  func followsCOMPWORDBREAKS(_ mode: BashMode) throws {
    let root = Completions.intelHost
    for breaks: Set<Character> in [[], [":"], ["="]] {
      let whole = breaks.isEmpty
      #expect(
        try BashCompletion.complete("hiodctl check --viommu=sm", mode: mode, breaks: breaks).replies
          == [breaks.contains("=") ? "smmuv3" : "--viommu=smmuv3"], "\(breaks)")
      #expect(
        try BashCompletion.complete("hiodctl --sysroot \(root) caps 0000:01", mode: mode, breaks: breaks).replies
          == [breaks.contains(":") ? "01:00.0" : "0000:01:00.0"], "\(breaks)")
      #expect(
        try BashCompletion.complete("hiodctl --sysroot=\(root) caps 1", mode: mode, breaks: breaks).replies
          == ["10000:00:02.0"], "\(breaks)")
      #expect(
        try BashCompletion.complete("hiodctl --sysroot \(root) list --slot=0000:00:1f", mode: mode, breaks: breaks)
          .replies
          .sorted()
          == (whole
            ? ["--slot=0000:00:1f.0", "--slot=0000:00:1f.3"]
            : breaks.contains(":") ? ["1f.0", "1f.3"] : ["0000:00:1f.0", "0000:00:1f.3"]),
        "\(breaks)")
    }
  }

  /// Installed as bash-completion expects (completions/hiodctl in its user directory),
  /// its loader finds the file and registers _hiodctl.
  @Test(
    .enabled(if: FileManager.default.fileExists(atPath: Completions.bashCompletion), "bash-completion is not installed")
  )
  func loadsOnDemandThroughBashCompletion() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    try FileManager.default.createDirectory(atPath: home + "/user/completions", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: Completions.bashFile, toPath: home + "/user/completions/hiodctl")
    let script = """
      export BASH_COMPLETION_USER_DIR=\(Completions.quoted(home + "/user"))
      source \(Completions.bashCompletion)
      _completion_loader hiodctl
      complete -p hiodctl
      """
    let outcome = try Completions.run(Completions.bash!, ["--norc", "--noprofile", "-c", script], home: home)
    #expect(outcome.stderr.isEmpty, "\(outcome.stderr)")
    #expect(outcome.stdout == "complete -F _hiodctl hiodctl\n")
  }

  /// The parser's view of which option takes a value, from the table, for every command.
  @Test func knowsWhichOptionsTakeAValue() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    var script = "source \(Completions.quoted(Completions.bashFile))\n"
    var expected: [String] = []
    for command in [nil] + OptionTable.commands {
      for option in OptionTable.globalOptions + (command?.options ?? []) {
        for spelling in option.spellings {
          let name = command?.name ?? ""
          script +=
            """
            _hiodctl_takes_value '\(name)' '\(spelling)' && echo '\(name) \(spelling) value' \
            || echo '\(name) \(spelling) flag'\n
            """
          expected.append("\(name) \(spelling) \(option.takesValue ? "value" : "flag")")
        }
      }
    }
    let outcome = try Completions.run(Completions.bash!, ["--norc", "--noprofile", "-c", script], home: home)
    #expect(outcome.stderr.isEmpty)
    #expect(outcome.stdout.split(separator: "\n").map(String.init) == expected)
  }

  /// The user's shell options and IFS are as they were, and do not change the answer.
  @Test(arguments: BashMode.allCases)
  func leavesTheShellAsItWas(_ mode: BashMode) throws {
    let prelude = "shopt -s failglob nullglob dotglob nocaseglob; shopt -u extglob; before=$(shopt -p; declare -p IFS)"
    let epilogue =
      """
      after=$(shopt -p; declare -p IFS); [[ $before == \"$after\" ]] && echo same \
      || diff <(echo \"$before\") <(echo \"$after\")
      """
    let result = try BashCompletion.complete(
      "hiodctl --sysroot \(Completions.intelHost) caps ", mode: mode, prelude: prelude, epilogue: epilogue)
    #expect(Set(result.replies) == Completions.intelHostVFIO)
    #expect(result.epilogue == ["same"])
    let missing = try BashCompletion.complete(
      "hiodctl --sysroot /nonexistent caps ", mode: mode, prelude: prelude, epilogue: epilogue)
    #expect(missing.replies.isEmpty && missing.epilogue == ["same"])
  }
}

// MARK: - zsh

enum ZshCompletion {
  /// Completes `line` in an interactive zsh on a pseudo-terminal (zsh/zpty), with
  /// completions/ in $fpath, and returns what the completion functions added. compadd
  /// is wrapped to print each match, and comppostfuncs exits the shell.
  static let captureScript = #"""
    zmodload zsh/zpty || exit 3
    zpty capture zsh -f -i || exit 3
    init=$2/init.zsh
    cat >$init <<INIT
    PROMPT= RPROMPT= PS2=
    fpath=(${(q)1} \$fpath)
    autoload -U compinit && compinit -u -d ${(q)2}/zcompdump
    bindkey '^M' undefined
    bindkey '^J' undefined
    bindkey '^I' complete-word
    comppostfuncs=(exit)
    compadd() {
      if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
        builtin compadd "\$@"
        return
      fi
      local -a __hits
      builtin compadd -A __hits "\$@"
      local hit
      for hit in \$__hits; do print -r -- "<<<match>>>\$IPREFIX\$hit"; done
      builtin compadd "\$@"
    }
    print -r -- '<<<ready>>>'
    INIT
    zpty -w capture "source ${(q)init}"
    line=
    repeat 100; do
      zpty -r -t capture line && [[ $line == *'<<<ready>>>'* ]] && break
      sleep 0.1
    done
    zpty -w -n capture "$3"$'\t'
    out=
    while zpty -r capture line; do out+=$line; done
    # A match may follow the echoed command line on its line.
    print -r -- ${(F)${(M)${(f)out//$'\r'/}:#*<<<match>>>*}##*<<<match>>>}
    """#

  static func offers(_ line: String) throws -> Set<String> {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let script = home + "/capture.zsh"
    try captureScript.write(toFile: script, atomically: true, encoding: .utf8)
    let outcome = try Completions.run(
      "/usr/bin/timeout", ["60", Completions.zsh!, "-f", script, Completions.directory, home, line], home: home)
    #expect(outcome.status == 0, "zsh for '\(line)': status \(outcome.status) \(outcome.stderr)")
    return Set(outcome.lines)
  }
}

@Suite(.enabled(if: Completions.zsh != nil, "zsh is not installed (apt-get install zsh)"))
struct ZshCompletionTests {
  /// compinit finds _hiodctl through $fpath, and the file loads.
  @Test func loadsFromFpath() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let script = """
      fpath=(\(Completions.quoted(Completions.directory)) $fpath)
      autoload -U compinit && compinit -u -d \(Completions.quoted(home + "/zcompdump"))
      print -r -- $_comps[hiodctl]
      autoload +X _hiodctl
      """
    let outcome = try Completions.run(Completions.zsh!, ["-f", "-c", script], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
    #expect(outcome.stdout == "_hiodctl\n")
  }

  /// Sourcing the file registers the function too.
  @Test func loadsWhenSourced() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let script = """
      autoload -U compinit && compinit -u -d \(Completions.quoted(home + "/zcompdump"))
      source \(Completions.quoted(Completions.zshFile))
      print -r -- $_comps[hiodctl]
      """
    let outcome = try Completions.run(Completions.zsh!, ["-f", "-c", script], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
    #expect(outcome.stdout == "_hiodctl\n")
  }

  @Test func completes() throws {
    #expect(try ZshCompletion.offers("hiodctl ") == Completions.commands)
    #expect(try ZshCompletion.offers("hiodctl check --viommu ") == Set(VIOMMUModel.allCases.map(\.rawValue)))
    #expect(
      try ZshCompletion.offers("hiodctl check --qemu 1")
        == Set(QEMUVersion.known.map(\.description).filter { $0.hasPrefix("1") }))
    #expect(try ZshCompletion.offers("hiodctl --sysroot \(Completions.intelHost) caps ") == Completions.intelHostVFIO)
    #expect(try ZshCompletion.offers("hiodctl caps --sysroot=\(Completions.intelHost) ") == Completions.intelHostVFIO)
    #expect(
      try ZshCompletion.offers("hiodctl -n caps --json --sysroot \(Completions.intelHost) 1") == ["10000:00:02.0"])
    #expect(try ZshCompletion.offers("hiodctl list --").isSuperset(of: ["--slot", "--vfio", "--json"]))
    #expect(try ZshCompletion.offers("hiodctl export --format ") == ["nfd", "prometheus", "ansible"])
    #expect(try ZshCompletion.offers("hiodctl caps -- --b").isEmpty)
    #expect(try ZshCompletion.offers("hiodctl --host snapshots/v1-intel-aw39.json caps ") == Completions.aw39VFIO)
    #expect(try ZshCompletion.offers("hiodctl --host snapshots/v1-intel-aw39.json list -s ") == Completions.aw39All)
    #expect(try ZshCompletion.offers("hiodctl host -").isSuperset(of: ["-q", "--quiet"]))
  }
}

// MARK: - fish

enum FishCompletion {
  /// What `complete -C` offers for `line`, without the descriptions.
  static func offers(_ line: String) throws -> Set<String> {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let outcome = try Completions.run(
      Completions.fish!,
      ["--no-config", "-c", "source $argv[1]; and complete -C $argv[2]", Completions.fishFile, line],
      home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "fish for '\(line)': \(outcome.stderr)")
    return Set(outcome.lines.map { String($0.split(separator: "\t", omittingEmptySubsequences: false)[0]) })
  }
}

@Suite(.enabled(if: Completions.fish != nil, "fish is not installed (apt-get install fish)"))
struct FishCompletionTests {
  @Test func parses() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    let outcome = try Completions.run(Completions.fish!, ["--no-config", "-n", Completions.fishFile], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
  }

  /// Installed in ~/.config/fish/completions, fish loads it the first time hiodctl (on
  /// PATH: fish loads completions only for commands that exist) is completed.
  @Test func loadsFromTheUsersCompletionsDirectory() throws {
    let home = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: home) }
    try FileManager.default.createDirectory(
      atPath: home + "/.config/fish/completions", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: Completions.fishFile, toPath: home + "/.config/fish/completions/hiodctl.fish")
    let bin = home + "/bin"
    try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(
      atPath: bin + "/hiodctl", contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
    let outcome = try Completions.run(
      Completions.fish!, ["-c", "set PATH $argv[1] $PATH; complete -C 'hiodctl check --viommu '", bin], home: home)
    #expect(outcome.status == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
    let offered = Set(outcome.lines.map { String($0.split(separator: "\t", omittingEmptySubsequences: false)[0]) })
    #expect(offered == Set(VIOMMUModel.allCases.map(\.rawValue)))
  }

  @Test func completes() throws {
    #expect(try FishCompletion.offers("hiodctl ") == Completions.commands)
    #expect(try FishCompletion.offers("hiodctl check --viommu ") == Set(VIOMMUModel.allCases.map(\.rawValue)))
    #expect(
      try FishCompletion.offers("hiodctl check --qemu 1")
        == Set(QEMUVersion.known.map(\.description).filter { $0.hasPrefix("1") }))
    #expect(try FishCompletion.offers("hiodctl --sysroot \(Completions.intelHost) caps ") == Completions.intelHostVFIO)
    #expect(
      try FishCompletion.offers("hiodctl --sysroot=\(Completions.intelHost) check --viommu intel ")
        == Completions.intelHostVFIO)
    #expect(
      try FishCompletion.offers("hiodctl --sysroot \(Completions.noIOMMU) caps ")
        == Completions.devices(of: Completions.noIOMMU))
    #expect(try FishCompletion.offers("hiodctl list --").isSuperset(of: ["--slot", "--vfio", "--json"]))
    #expect(try FishCompletion.offers("hiodctl export --format ") == ["nfd", "prometheus", "ansible"])
    #expect(try FishCompletion.offers("hiodctl caps -- --b").isEmpty)
    #expect(try FishCompletion.offers("hiodctl --host snapshots/v1-intel-aw39.json caps ") == Completions.aw39VFIO)
    #expect(try FishCompletion.offers("hiodctl --host=snapshots/v1-intel-aw39.json list -s ") == Completions.aw39All)
    #expect(try FishCompletion.offers("hiodctl host -").isSuperset(of: ["-q", "--quiet"]))
    #expect(try FishCompletion.offers("hiodctl check --machine ") == Set(OptionTable.machineExamples))
    let scratch = try Completions.scratch()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    #expect(try FishCompletion.offers("hiodctl --host \(scratch)/") == ["\(scratch)/a.json", "\(scratch)/sub/"])
  }
}
