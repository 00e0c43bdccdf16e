"""The 50 conditions of bench-50.rules.yaml written by hand as plain Python over the order dict.

`make_rules(money)` returns [(rule id, function(order) -> bool)] in the ruleset's order; `money`
turns a price string into a number: `float` (what the JSON Logic engines do) or
`decimal.Decimal` (exact, as OrderHub does). Each function stands alone, like a rule: it
recomputes the totals it needs (no sharing between rules). Velocity rules are their `when`
only, and route-table is "any row matches", as in peer_rules.json.

Time windows compare created_at ("YYYY-MM-DDTHH:MM:SSZ", UTC) with the windows moved to UTC
(São Paulo is UTC-3): the same text comparisons peer_rules.json makes.
"""

PRESALE = frozenset(["SKU-PRE-1", "SKU-PRE-2", "SKU-PRE-3", "SKU-PRE-4", "SKU-PRE-5", "SKU-PRE-6", "SKU-PRE-7"])


def make_rules(money):
    def total(o):
        return sum(i["quantity"] * money(i["unit_price"]) for i in o["items"])

    def total_cat(o, category):
        return sum(i["quantity"] * money(i["unit_price"]) for i in o["items"] if i["category"] == category)

    def in_stock_total(o):
        return sum(i["quantity"] * money(i["unit_price"]) for i in o["items"] if i["sku"] not in PRESALE)

    def qty_cat(o, category):
        return sum(i["quantity"] for i in o["items"] if i["category"] == category)

    def count_cat(o, category):
        return sum(1 for i in o["items"] if i["category"] == category)

    def has_cat(o, category):
        return any(i["category"] == category for i in o["items"])

    def clock(o):
        return o["created_at"][11:16]

    def between(o, start, end):
        return start <= o["created_at"] < end

    rules = [
        # velocity (the `when` part only)
        ("same-ip-burst", lambda o: o["channel"] in ("web", "app")),
        ("customer-repeat-big", lambda o: total(o) >= 500),
        ("card-testing", lambda o: o["payment"]["method"] == "credit_card" and total(o) < 50),
        # holds
        ("hold-high-value", lambda o: total(o) >= 5000),
        ("hold-crypto", lambda o: o["payment"]["method"] == "crypto"),
        ("hold-boleto-high", lambda o: o["payment"]["method"] == "boleto" and total(o) >= 2000),
        ("hold-gift-card-abroad", lambda o: o["payment"]["method"] == "gift_card" and o["ship_to"]["country"] != "BR"),
        ("hold-export-electronics", lambda o: o["ship_to"]["country"] == "AR" and total_cat(o, "electronics") >= 1500),
        ("hold-reseller-quantity", lambda o: sum(i["quantity"] for i in o["items"]) >= 12),
        ("hold-untiered-big-card", lambda o: o["customer"]["tier"] == "none"
            and o["payment"]["method"] in ("credit_card", "wallet") and total(o) >= 3000),
        ("hold-presale-overload", lambda o: sum(i["quantity"] for i in o["items"] if i["sku"] in PRESALE) >= 4),
        # promotions
        ("xmas-eve-15pct", lambda o: between(o, "2026-12-24T23:00:00Z", "2026-12-25T03:00:00Z") and total(o) >= 100),
        ("spend-1000-get-150", lambda o: in_stock_total(o) >= 1000),
        ("spend-300-get-50", lambda o: in_stock_total(o) >= 300),
        ("toys-10pct", lambda o: count_cat(o, "toys") > 0),
        ("books-3-plus-15pct", lambda o: qty_cat(o, "books") >= 3),
        ("electronics-pix-5pct", lambda o: o["payment"]["method"] == "pix" and total_cat(o, "electronics") >= 500),
        ("tier-gold-platinum-5pct", lambda o: o["customer"]["tier"] in ("gold", "platinum")),
        ("platinum-shipping-credit", lambda o: o["customer"]["tier"] == "platinum" and money(o["shipping"]["fee"]) > 0),
        ("first-week-20-off", lambda o: between(o, "2026-12-01T03:00:00Z", "2026-12-08T03:00:00Z") and total(o) >= 150),
        ("baby-bundle-12pct", lambda o: count_cat(o, "baby") >= 2),
        ("beauty-apparel-combo", lambda o: has_cat(o, "beauty") and has_cat(o, "apparel")),
        ("home-big-ticket-8pct", lambda o: total_cat(o, "home") >= 800),
        ("app-200-7pct", lambda o: o["channel"] == "app" and total(o) >= 200),
        ("grocery-6-units-10pct", lambda o: qty_cat(o, "grocery") >= 6),
        ("silver-spend-500-get-40", lambda o: o["customer"]["tier"] == "silver" and in_stock_total(o) >= 500),
        # gifts
        ("christmas-eve-wipes", lambda o: between(o, "2026-12-24T23:00:00Z", "2026-12-25T03:00:00Z")),
        ("night-owl-socks", lambda o: "02:00" <= clock(o) < "05:00" and total(o) >= 250),
        ("toys-gift-wrap", lambda o: qty_cat(o, "toys") >= 2),
        ("presale-poster", lambda o: any(i["sku"] in PRESALE for i in o["items"])),
        ("book-week-bookmark", lambda o: between(o, "2026-12-15T03:00:00Z", "2026-12-22T03:00:00Z") and has_cat(o, "books")),
        ("platinum-vip-mug", lambda o: o["customer"]["tier"] == "platinum" and total(o) >= 1000),
        ("beauty-sample", lambda o: total_cat(o, "beauty") >= 120),
        ("morning-usb-cable", lambda o: "11:00" <= clock(o) < "15:00"
            and any(i["sku"] in ("SKU-ELE-1", "SKU-ELE-2") for i in o["items"])),
        # routing
        ("route-sp", lambda o: o["ship_to"]["country"] == "BR" and o["ship_to"]["region"] == "SP"),
        ("route-rj-es", lambda o: o["ship_to"]["country"] == "BR" and o["ship_to"]["region"] in ("RJ", "ES")),
        ("route-south", lambda o: o["ship_to"]["country"] == "BR" and o["ship_to"]["region"] in ("RS", "PR", "SC")),
        ("route-northeast", lambda o: o["ship_to"]["country"] == "BR" and o["ship_to"]["region"] in ("BA", "PE", "CE")),
        ("route-international", lambda o: o["ship_to"]["country"] != "BR"),
        ("route-bulky-electronics", lambda o: total_cat(o, "electronics") >= 3000),
        ("split-presale", lambda o: any(i.get("presale") is True for i in o["items"]) and len(o["items"]) >= 2),
        ("route-table", lambda o: (o["ship_to"]["country"] == "BR" and o["ship_to"]["region"] in ("MG", "DF", "GO"))
            or o["ship_to"]["country"] == "PT"
            or (o["ship_to"]["country"] in ("US", "AR") and 2000 <= total(o) <= 1000000)),
        # tags
        ("tag-big-basket", lambda o: len(o["items"]) >= 5),
        ("tag-night-order", lambda o: "03:00" <= clock(o) < "09:00"),
        ("tag-xmas-gifting", lambda o: between(o, "2026-12-18T03:00:00Z", "2026-12-25T03:00:00Z")
            and any(i["category"] in ("toys", "baby") for i in o["items"])),
        ("tag-fast-promise", lambda o: o["shipping"]["promised_days"] <= 2),
        ("tag-marketplace-abroad", lambda o: o["channel"] == "marketplace" and o["ship_to"]["country"] != "BR"),
        # set a field
        ("carbon-cross-border", lambda o: o["ship_to"]["country"] != "BR"),
        ("carbon-long-haul-domestic", lambda o: o["ship_to"]["country"] == "BR"
            and o["ship_to"]["region"] not in ("SP", "RJ", "MG", "PR")
            and any(i["category"] in ("electronics", "home") for i in o["items"])),
        ("carbon-air-express", lambda o: o["ship_to"]["country"] == "BR" and o["shipping"]["promised_days"] <= 2
            and total(o) >= 1000),
    ]
    return rules
