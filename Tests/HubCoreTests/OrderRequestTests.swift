import HubCore
import HubJSON
import HubLoader
import HubJSON
import Foundation
import Testing

@Suite struct OrderRequestTests {
    static let valid = """
        {"external_ref":"WEB-1","channel":"web","currency":"BRL","customer":{"id":"c-1","tier":"gold"},
         "items":[{"sku":"A","quantity":2,"unit_price":"129.90"},{"sku":"B","quantity":1,"unit_price":10.5,"presale":true}],
         "ship_to":{"country":"BR","region":"SP"},"payment":{"method":"pix"},"shipping":{"fee":"15","promised_days":9},
         "created_at":"2026-11-25T20:15:00-03:00","client_ip":"203.0.113.7"}
        """

    @Test func parsesOnceIntoFields() throws {
        let order = try OrderRequest.parse(Array(Self.valid.utf8), id: "ord_1")
        #expect(order.itemsTotalMinor == 2 * 12_990 + 1_050)
        #expect(order.shippingMinor == 1_500)
        #expect(order.promisedDays == 9)
        #expect(order.items[1].presale)
        #expect(order.createdUnixMillis == 1_795_648_500_000)
        let canonical = try JSONParser.parse(order.json)
        #expect(canonical["id"]?.stringValue == "ord_1")
        #expect(canonical["external_ref"]?.stringValue == "WEB-1")
    }

    @Test func namesEveryBadFieldByPath() throws {
        let body = """
            {"channel":"web","currency":"brl","customer":{},"items":[{"sku":"A","quantity":0,"unit_price":"1.999"},{"quantity":"2"}],
             "ship_to":{"country":"Brazil"},"payment":{"method":"pix"},"created_at":"today","colour":"red"}
            """
        #expect(throws: OrderValidationError.self) { try OrderRequest.parse(Array(body.utf8), id: "x") }
        do { _ = try OrderRequest.parse(Array(body.utf8), id: "x") } catch {
            let fields = Set(error.problems.map(\.field))
            #expect(fields.isSuperset(of: [
                "external_ref", "currency", "customer.id", "items[0].quantity", "items[0].unit_price", "items[1].sku",
                "items[1].quantity", "items[1].unit_price", "ship_to.country", "created_at", "colour",
            ]))
        }
    }

    @Test func nestedObjectsRefuseUnknownKeys() {
        let body = Self.valid.replacingOccurrences(of: #""tier":"gold"}"#, with: #""tier":"gold","shoe_size":42}"#)
            .replacingOccurrences(of: #""region":"SP"}"#, with: #""region":"SP","line1":"Rua A, 1","planet":"Earth"}"#)
        do {
            _ = try OrderRequest.parse(Array(body.utf8), id: "x")
            Issue.record("accepted unknown nested keys")
        } catch {
            #expect(Set(error.problems.map(\.field)) == ["customer.shoe_size", "ship_to.planet"])
        }
    }

    @Test func rejectsNonObjectsAndBrokenJSON() {
        for body in ["[]", "{", "\"order\""] {
            do {
                _ = try OrderRequest.parse(Array(body.utf8), id: "x")
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.problems.first?.field == "$")
            }
        }
    }

    @Test func orderIDsAreUniqueAndSortable() {
        let ids = (0..<1000).map { _ in OrderID.make() }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.hasPrefix("ord_") && $0.count == 30 })
    }
}
