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

/// The fleet summary over devices of different widths: its aw-bits is the narrowest, the
/// one every vIOMMU configuration must fit (synthetic/intel-host: dmar0 39 bits, dmar1 48).
struct FleetWidthTests {
  @Test func theNarrowestDeviceSetsTheFleetsAWBits() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    let summary = FleetSummary.summarize(
      host, realizer: HostIOMMURealizer(root: try Fixtures.root("synthetic/intel-host")), backend: .sysfs,
      hostname: "t", created: "0")
    let widths = Set(summary.vfioDevices.compactMap(\.awBits))
    #expect(widths.count > 1, "the fixture must hold devices of different widths: \(widths)")
    #expect(summary.minimumAWBits == widths.min())
  }
}
