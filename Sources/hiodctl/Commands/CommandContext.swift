// hiodctl — what every command needs from the global options.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

/// The global options, validated once.
struct CommandContext {
  let root: SystemRoot
  let json: Bool
  let numeric: Bool

  init(_ invocation: Invocation) throws(HIODError) {
    if let sysroot = invocation.value(.sysroot) {
      root = try SystemRoot(validating: sysroot)
    } else {
      root = .host
    }
    json = invocation.has(.json)
    numeric = invocation.has(.numeric)
  }
}
