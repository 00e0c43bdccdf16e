import Foundation
import HubCore
import HubLoader
import Testing

/// Vendor profiles are checked when the connector is created: a mistake names the profile
/// file, line and column, and what was expected. The shipped profiles pass `plugin check`.
@Suite struct ConnectorProfileTests {
    private func create(profile text: String, config extra: String = "") throws -> String {
        let directory = Products.tempDirectory("profile")
        try text.write(toFile: directory + "/vendor.json", atomically: true, encoding: .utf8)
        let config = #"{"profile":"vendor.json","base_url":"http://127.0.0.1:1","api_secret":"s","webhook_secret":"w"\#(extra)}"#
        try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["plugin", "check", try Products.library("HTTPConnector"), "--config", "@" + directory + "/config.json"])
        return result.stdout + result.stderr
    }

    @Test func shippedProfilesPassTheConformanceCheck() throws {
        let profiles = Products.repository + "/adapters/profiles"
        let configs = [
            #"{"profile":"\#(profiles)/wms-shipbob.json","base_url":"http://127.0.0.1:9","api_secret":"a","webhook_secret":"b"}"#,
            #"{"profile":"\#(profiles)/tms-shipengine.json","base_url":"http://127.0.0.1:9","client_id":"a","client_secret":"b","webhook_secret":"c"}"#,
            #"{"profile":"\#(profiles)/carrier-easypost.json","base_url":"http://127.0.0.1:9","api_key":"a","webhook_secret":"b"}"#,
        ]
        for config in configs {
            let result = try ChildProcess.run(["plugin", "check", try Products.library("HTTPConnector"), "--config", config])
            #expect(result.status == 0, "\(config): \(result.stdout)\(result.stderr)")
        }
    }

    @Test func mistakesNameFileLineAndColumn() throws {
        let badMethod = """
            {
              "profile": "acme",
              "base_url": "{{ config.base_url }}",
              "operations": {
                "create": {"on": "com.orderhub.dispatch.requested.v1", "method": "PUTT", "path": "/o"}
              }
            }
            """
        #expect(try create(profile: badMethod).contains("vendor.json:5:70: operations.create.method: 'PUTT' is not GET, POST, PUT, PATCH or DELETE"))
        let badFilter = """
            {"profile": "acme", "base_url": "{{ config.base_url }}",
             "operations": {"create": {"on": "x", "method": "POST", "path": "/o",
               "body": {"id": "{{ data.order_id | shout }}"}}}}
            """
        let filter = try create(profile: badFilter)
        #expect(filter.contains("vendor.json:3:19: operations.create.body: unknown filter 'shout'"), "\(filter)")
        let unknownKey = #"{"profile": "acme", "base_url": "{{ config.base_url }}", "operations": {}, "retries": 3}"#
        #expect(try create(profile: unknownKey).contains("vendor.json:1:87: profile: unknown key 'retries'"))
        let missingSecret = """
            {"profile": "acme", "base_url": "{{ config.base_url }}",
             "auth": {"type": "api_key", "key": "{{ config.api_key }}"},
             "operations": {"create": {"on": "x", "method": "POST", "path": "/o"}}}
            """
        #expect(try create(profile: missingSecret).contains("vendor.json:2:37: auth.key: renders empty; set it in the manifest's config"))
        let syntax = "{\"profile\": \"acme\",\n  \"base_url\" \"x\"}"
        #expect(try create(profile: syntax).contains("vendor.json:2:14:"))
        let badState = """
            {"profile": "acme", "base_url": "{{ config.base_url }}",
             "operations": {"create": {"on": "x", "method": "POST", "path": "/o"}},
             "statuses": {"Gone": "vanished"}}
            """
        #expect(try create(profile: badState).contains("vendor.json:3:23: statuses.Gone: 'vanished' is not one of"))
        // A misspelt config key is named, not silently ignored.
        let reads = """
            {"profile": "acme", "base_url": "{{ config.base_url }}",
             "auth": {"type": "hmac", "secret": "{{ config.api_secret }}"},
             "callbacks": {"signature": {"header": "X-Sig", "secret": "{{ config.webhook_secret }}"}, "order_id": "{{ data.ref }}", "status": "{{ data.s }}"},
             "operations": {"create": {"on": "x", "method": "POST", "path": "/o"}}}
            """
        #expect(try create(profile: reads).contains("conforms"))
        #expect(try create(profile: reads, config: #","api_secretx":"s""#).contains("config.api_secretx: not read by profile 'acme'"))
    }
}
