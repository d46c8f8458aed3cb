// hiodctl tests — the export formats' escaping, on the inputs fuzzing found.
// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import HostIOMMU

struct ExportFormatTests {
  /// Prometheus label values escape backslash, quote and newline wherever they sit,
  /// even inside a larger grapheme ("\r\n", a quote or backslash followed by a
  /// combining mark): Fuzz/Corpus/export-labels/crash-prometheus-escape-*.
  @Test(arguments: [
    ("aw39-guest\r\nhiod_injected 1", #"aw39-guest\#r\nhiod_injected 1"#),
    ("\"\u{301}", "\\\"\u{301}"),
    ("\\\u{301}", "\\\\\u{301}"),
    ("plain", "plain"),
  ])
  func prometheusLabelEscaping(raw: String, escaped: String) {
    let result = PrometheusMetrics.escape(raw)
    #expect(result == escaped)
    #expect(!result.unicodeScalars.contains("\n"))
  }
}
