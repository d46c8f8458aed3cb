// swift-tools-version: 6.2
// hiodctl fuzzing: one libFuzzer harness per parser that takes outside bytes.
// Not part of the main package: `Fuzz/run` builds it with -sanitize=fuzzer,address into
// Fuzz/.build. The production targets are mirrored here through symlinks (Mirror/) so the
// harnesses can `@testable import` them without making anything public and without touching
// the main Package.swift; keep the mirrored targets' dependencies and settings in step with it.
// SPDX-License-Identifier: GPL-2.0-or-later

import PackageDescription

/// The main package's settings: the mirrored sources must compile exactly as they do there.
let strictSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

/// Every harness: Harnesses/<name>/<name>.swift, built as the executable <name>, with its
/// seed corpus in Corpus/<name>/.
let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
  ("reserved-regions", ["HostIOMMU"]),
  ("register-text", ["HostIOMMU"]),
  ("pci-address", ["HostIOMMU"]),
  ("device-filter", ["HostIOMMU"]),
  ("vfio-info-chain", ["HostIOMMU", "CHIODShim"]),
  ("iova-ranges", ["HostIOMMU"]),
  ("amd-features", ["HostIOMMU"]),
  ("vtd-registers", ["HostIOMMU"]),
  ("smmuv3-registers", ["HostIOMMU"]),
  ("argv", ["HostIOMMU", "hiodctl"]),
  ("export-labels", ["HostIOMMU"]),
  ("snapshot-json", ["HostIOMMU", "hiodctl"]),
  ("host-tree", ["HostIOMMU", "hiodctl"]),
]

let package = Package(
  name: "hiodctl-fuzz",
  dependencies: [
    .package(url: "https://github.com/apple/swift-system", from: "1.8.0")
  ],
  targets: [
    // Mirrors of the main package's targets (symlinks to ../Sources).
    .systemLibrary(name: "CLibPCI", path: "Mirror/CLibPCI", pkgConfig: "libpci"),
    .target(name: "CHIODShim", dependencies: ["CLibPCI"], path: "Mirror/CHIODShim"),
    .target(
      name: "CHIODXML", path: "Mirror/CHIODXML", cSettings: [.unsafeFlags(["-I/usr/include/libxml2"])],
      linkerSettings: [.linkedLibrary("dl")]),
    .target(
      name: "HostIOMMU",
      dependencies: ["CHIODShim", "CHIODXML", "CLibPCI", .product(name: "SystemPackage", package: "swift-system")],
      path: "Mirror/HostIOMMU",
      swiftSettings: strictSettings),
    // The executable's sources as a library, without its top-level code.
    .target(
      name: "hiodctl", dependencies: ["HostIOMMU"], path: "Mirror/hiodctl", exclude: ["main.swift"],
      swiftSettings: strictSettings),
    .target(name: "FuzzSupport", dependencies: ["HostIOMMU"], path: "Support", swiftSettings: strictSettings),
  ]
    + harnesses.map { harness in
      .executableTarget(
        name: harness.name,
        dependencies: ["FuzzSupport"] + harness.dependencies,
        path: "Harnesses/\(harness.name)",
        swiftSettings: strictSettings + [.unsafeFlags(["-parse-as-library"])])
    }
)
