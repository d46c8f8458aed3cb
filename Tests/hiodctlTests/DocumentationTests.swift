// hiodctl tests — the man page documents everything the option table has.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import hiodctl

struct DocumentationTests {
  /// man/hiodctl.8 with roff's escaped hyphens turned back into plain ones.
  static let manPage: String = {
    let path = Golden.testsDirectory + "/../man/hiodctl.8"
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.replacingOccurrences(of: "\\-", with: "-")
  }()

  @Test(arguments: OptionTable.allOptions.map(\.spellings).joined())
  func manPageDocumentsOption(_ spelling: String) {
    #expect(Self.manPage.contains(spelling), "man/hiodctl.8 lacks \(spelling)")
  }

  @Test(arguments: OptionTable.commands.map(\.name))
  func manPageDocumentsCommand(_ name: String) {
    #expect(Self.manPage.contains(".B \(name)\n"), "man/hiodctl.8 lacks a COMMANDS entry for \(name)")
  }

  @Test func manPageGroupsOptionsAsHelpDoes() {
    let subsections = Self.manPage.split(separator: "\n").filter { $0.hasPrefix(".SS ") }
      .map { $0.dropFirst(4).lowercased() }
    for group in OptionGroup.allCases {
      #expect(subsections.contains(group.rawValue.lowercased()), "man/hiodctl.8 lacks .SS for \(group.rawValue)")
    }
  }

  @Test func manPageListsEveryExitStatus() {
    for status in Help.exitStatusLines.compactMap({ $0.split(separator: " ").first }) {
      #expect(Self.manPage.contains(".B \(status)\n"), "EXIT STATUS lacks \(status)")
    }
  }
}
