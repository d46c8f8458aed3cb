// hiodctl — which QEMU this host would run: found without executing anything a user
// could have put there. The package database first (read only), then `--version` of a
// binary only when root owns it and its directory, nobody else may write either, and it
// sits in a system directory.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// A QEMU release found on the host, and how.
package struct HostQEMU: Hashable, Sendable {
  /// The release (`10.0` of 10.0.13).
  package var version: QEMUVersion
  /// The full version text (`10.0.13`, `1:10.0.13+ds-0+deb13u1`).
  package var fullVersion: String
  /// How it was found: "dpkg: qemu-system-x86 1:10.0.13+ds-0+deb13u1",
  /// "/usr/bin/qemu-system-x86_64 --version".
  package var source: String
  /// The binary, when known.
  package var path: String?

  package init(version: QEMUVersion, fullVersion: String, source: String, path: String?) {
    self.version = version
    self.fullVersion = fullVersion
    self.source = source
    self.path = path
  }
}

package enum HostQEMUDetector {
  /// The binaries a host runs as QEMU, by distribution.
  package static let candidates = [
    "/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm", "/usr/bin/qemu-kvm", "/usr/bin/qemu-system-aarch64",
  ]

  /// The Debian packages that ship them.
  static let packages = ["qemu-system-x86", "qemu-kvm", "qemu-system-arm"]

  /// The system directories a trusted QEMU binary may live in.
  static let trustedDirectories = ["/usr/bin", "/usr/libexec", "/usr/local/bin"]

  /// The QEMU of the host under `root`: from the dpkg database, else (on the live host
  /// only) by running `--version` of a trusted binary. nil when none is installed.
  package static func detect(root: SystemRoot) -> HostQEMU? {
    if let packaged = fromPackageDatabase(root: root) { return packaged }
    guard root.isHost else { return nil }
    for path in candidates {
      if let found = runVersion(path) { return found }
    }
    return nil
  }

  /// The release of the QEMU binary at `path` (an `<emulator>` or argv[0] from the input),
  /// without running anything the input names unless it is trusted: the package that owns
  /// the path, else `--version` of a root-owned binary in a system directory, else nil.
  package static func release(ofProgram path: String, root: SystemRoot) -> HostQEMU? {
    guard path.hasPrefix("/") else {
      // A bare name is looked up where the host's own QEMU lives.
      for directory in trustedDirectories where path == "qemu-system-x86_64" || path == "qemu-kvm" {
        if let found = release(ofProgram: "\(directory)/\(path)", root: root) { return found }
      }
      return nil
    }
    if let owner = packageOwning(path, root: root), let version = installedVersion(of: owner, root: root),
      let release = debianRelease(version)
    {
      return HostQEMU(
        version: release, fullVersion: version, source: "dpkg: \(path) belongs to \(owner) \(version)", path: path)
    }
    guard root.isHost else { return nil }
    return runVersion(path)
  }

  // MARK: The package database

  /// The installed version of the first QEMU package dpkg knows.
  static func fromPackageDatabase(root: SystemRoot) -> HostQEMU? {
    for package in packages {
      guard let version = installedVersion(of: package, root: root), let release = debianRelease(version) else {
        continue
      }
      return HostQEMU(
        version: release, fullVersion: version, source: "dpkg: \(package) \(version) is installed", path: nil)
    }
    return nil
  }

  /// `Version:` of an installed package in `/var/lib/dpkg/status`.
  static func installedVersion(of package: String, root: SystemRoot) -> String? {
    guard case .success(let text) = root.readText("/var/lib/dpkg/status", limit: 64 << 20) else { return nil }
    for stanza in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
      var name: Substring?
      var status: Substring?
      var version: Substring?
      for line in stanza.split(separator: "\n") {
        if line.hasPrefix("Package: ") { name = line.dropFirst(9) }
        if line.hasPrefix("Status: ") { status = line.dropFirst(8) }
        if line.hasPrefix("Version: ") { version = line.dropFirst(9) }
      }
      if name == Substring(package), status?.hasSuffix(" installed") == true, let version {
        return String(version)
      }
    }
    return nil
  }

  /// The package whose file list (`/var/lib/dpkg/info/*.list`) holds `path`.
  static func packageOwning(_ path: String, root: SystemRoot) -> String? {
    for package in packages {
      for list in ["\(package).list", "\(package):amd64.list", "\(package):arm64.list"] {
        if case .success(let text) = root.readText("/var/lib/dpkg/info/\(list)", limit: 8 << 20),
          text.split(separator: "\n").contains(Substring(path))
        {
          return package
        }
      }
    }
    return nil
  }

  /// `1:10.0.13+ds-0+deb13u1` → 10.0.
  static func debianRelease(_ version: String) -> QEMUVersion? {
    let upstream = version.split(separator: ":", maxSplits: 1).last.map(String.init) ?? version
    let numbers = upstream.prefix { $0.isNumber || $0 == "." }
    let parts = numbers.split(separator: ".")
    guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
    return QEMUVersion(major: major, minor: minor)
  }

  // MARK: Running a trusted binary

  /// Whether `path` (symlinks resolved) is a root-owned regular file nobody else may
  /// write, in a root-owned system directory nobody else may write.
  static func isTrusted(_ path: String) -> String? {
    guard let real = try? Syscall.realPath(path) else { return nil }
    let directory = real.split(separator: "/").dropLast().joined(separator: "/")
    guard trustedDirectories.contains("/" + directory) else { return nil }
    guard let file = try? Syscall.ownership(real), let folder = try? Syscall.ownership("/" + directory) else {
      return nil
    }
    let writableByOthers = mode_t(S_IWGRP | S_IWOTH)
    guard file.isRegularFile, file.owner == 0, file.mode & writableByOthers == 0,
      folder.owner == 0, folder.mode & writableByOthers == 0
    else { return nil }
    return real
  }

  /// `path --version`, when the binary is trusted: "QEMU emulator version 10.0.13 (…)".
  static func runVersion(_ path: String) -> HostQEMU? {
    guard let real = isTrusted(path), let output = Syscall.output(of: [real, "--version"], timeoutSeconds: 5)
    else { return nil }
    let marker = "QEMU emulator version "
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(marker) }) else { return nil }
    let full = line.dropFirst(marker.count).prefix { !$0.isWhitespace }
    guard let release = debianRelease(String(full)) else { return nil }
    return HostQEMU(version: release, fullVersion: String(full), source: "\(path) --version", path: path)
  }
}
