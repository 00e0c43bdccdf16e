import CHubABI
import Foundation
import HubLoader
import Testing

/// The released ABI 1.0 layout cannot change: every field pinned in abi-1.0.layout must
/// still be at the same offset with the same size. New fields may only be appended.
@Suite struct ABILayoutTests {
    @Test func releasedFieldsAreWherePluginsExpectThem() throws {
        let directory = Products.tempDirectory("layout")
        let binary = directory + "/layout"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["cc", "-std=c99", "-Wall", "-Werror", "-DHUB_LAYOUT_PRINT",
                             Products.repository + "/PluginAPI/CHubABI/hub_abi_layout.c", "-o", binary]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "hub_abi_layout.c did not compile: a static assert on a released field failed")
        let run = Process()
        let pipe = Pipe()
        run.executableURL = URL(fileURLWithPath: binary)
        run.standardOutput = pipe
        try run.run()
        let current = Set(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n"))
        run.waitUntilExit()
        // Every released minor's pins must still hold (append-only across 1.0, 1.1, ...).
        for release in ["1.0", "1.1", "1.2", "1.3", "1.4"] {
            let pinned = try String(contentsOfFile: Products.repository + "/PluginAPI/CHubABI/abi-\(release).layout", encoding: .utf8)
                .split(separator: "\n")
            #expect(pinned.count >= 100)
            for line in pinned {
                #expect(current.contains(line), "released ABI \(release) field changed or removed: \(line)")
            }
        }
    }

    @Test func swiftSeesTheSameLayout() {
        #expect(MemoryLayout<hub_bytes>.size == 16)
        #expect(MemoryLayout<hub_buf>.size == 32)
        #expect(MemoryLayout<hub_event>.size == 152)
        #expect(MemoryLayout<hub_plugin_desc>.size == 136)
        #expect(MemoryLayout<hub_plugin_desc>.offset(of: \hub_plugin_desc.control) == 128)
        #expect(MemoryLayout<hub_order>.offset(of: \hub_order.context_json) == 248)
        #expect(MemoryLayout<hub_plugin_desc>.offset(of: \hub_plugin_desc.create) == 48)
        #expect(MemoryLayout<hub_host_api>.offset(of: \hub_host_api.schedule) == 104)
        #expect(MemoryLayout<hub_order>.offset(of: \hub_order.json) == 232)
        #expect(MemoryLayout<hub_connector_api_v1>.offset(of: \hub_connector_api_v1.query_status) == 24)
        #expect(HUB_ABI_MAJOR == 1 && HUB_ABI_MINOR == 4)
    }

    /// The header's declarations (comments and whitespace removed) are pinned per released
    /// version in abi-releases.txt: changing them without a new minor fails here.
    @Test func headerDeclarationsMatchTheReleasedVersion() throws {
        let header = try String(contentsOfFile: Products.repository + "/PluginAPI/CHubABI/include/hub_abi.h", encoding: .utf8)
        var text = header
        for (pattern, options) in [(#"/\*.*?\*/"#, NSRegularExpression.Options.dotMatchesLineSeparators), (#"//[^\n]*"#, [])] {
            let regex = try NSRegularExpression(pattern: pattern, options: options)
            text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
        }
        let collapsed = try NSRegularExpression(pattern: #"\s+"#)
            .stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: " ")
            .trimmingCharacters(in: .whitespaces)
        let digest = SHA256.hex(Array(collapsed.utf8))
        let releases = try String(contentsOfFile: Products.repository + "/PluginAPI/CHubABI/abi-releases.txt", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").map(String.init) }
        let current = "\(HUB_ABI_MAJOR).\(HUB_ABI_MINOR)"
        let pinned = releases.first { $0.first == current }?.last
        #expect(pinned == digest, """
            hub_abi.h's declarations changed (sha256 \(digest)) but abi-releases.txt pins \(pinned ?? "nothing") for ABI \(current). \
            Released declarations never change; append new fields/functions, bump HUB_ABI_MINOR and add a line for the new version.
            """)
    }
}
