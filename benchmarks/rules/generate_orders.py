#!/usr/bin/env python3
"""Writes the rules benchmark's orders: N canonical OrderHub orders as JSON Lines.

Deterministic: the same --seed and --count give the same bytes on any machine (only
random.Random's documented, version-stable methods are used). Orders are written in
created_at order, ids ord_000001, ord_000002, ... so velocity windows can be replayed with
created_at as the clock.

    python3 benchmarks/rules/generate_orders.py                    # 100,000 orders
    python3 benchmarks/rules/generate_orders.py --count 20000 --out /tmp/orders.jsonl

What is in them (see README.md): 1-6 lines over 40 SKUs in 8 categories, ~10% presale lines,
~3% lines marked no_discount, money as decimal strings with two decimals, mostly BR (some
PT/US/AR), tiers none/silver/gold/platinum, seven payment methods, created_at across December
2026 (São Paulo time) with a crowd on 24 Dec 20:00-24:00, client IPs from a pool so IPs repeat,
plus a few bursts (one IP, many recipients, seconds apart; one customer ordering again within
minutes) for the velocity rules to find.
"""
import argparse
import datetime as dt
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (sku, category, unit price) — 35 in stock and 5 presale SKUs, 40 in all.
CATALOG = [
    ("SKU-TOY-1", "toys", "129.90"), ("SKU-TOY-2", "toys", "49.90"), ("SKU-TOY-3", "toys", "249.90"),
    ("SKU-TOY-4", "toys", "89.90"), ("SKU-TOY-5", "toys", "29.90"),
    ("SKU-BOO-1", "books", "39.90"), ("SKU-BOO-2", "books", "59.90"), ("SKU-BOO-3", "books", "19.90"),
    ("SKU-BOO-4", "books", "89.90"),
    ("SKU-ELE-1", "electronics", "1899.00"), ("SKU-ELE-2", "electronics", "2499.00"), ("SKU-ELE-3", "electronics", "349.00"),
    ("SKU-ELE-4", "electronics", "149.00"), ("SKU-ELE-5", "electronics", "799.00"),
    ("SKU-APP-1", "apparel", "79.90"), ("SKU-APP-2", "apparel", "129.90"), ("SKU-APP-3", "apparel", "39.90"),
    ("SKU-APP-4", "apparel", "299.90"), ("SKU-APP-5", "apparel", "59.90"),
    ("SKU-HOM-1", "home", "599.00"), ("SKU-HOM-2", "home", "149.90"), ("SKU-HOM-3", "home", "49.90"),
    ("SKU-HOM-4", "home", "329.00"),
    ("SKU-BEA-1", "beauty", "14.90"), ("SKU-BEA-2", "beauty", "69.90"), ("SKU-BEA-3", "beauty", "129.90"),
    ("SKU-BEA-4", "beauty", "39.90"),
    ("SKU-GRO-1", "grocery", "4.99"), ("SKU-GRO-2", "grocery", "12.50"), ("SKU-GRO-3", "grocery", "29.90"),
    ("SKU-GRO-4", "grocery", "59.90"),
    ("SKU-BAB-1", "baby", "19.90"), ("SKU-BAB-2", "baby", "89.90"), ("SKU-BAB-3", "baby", "399.00"),
    ("SKU-BAB-4", "baby", "149.90"),
]
PRESALE = [
    ("SKU-PRE-1", "electronics", "1599.00"), ("SKU-PRE-2", "toys", "199.00"), ("SKU-PRE-3", "books", "89.00"),
    ("SKU-PRE-4", "electronics", "899.00"), ("SKU-PRE-5", "apparel", "249.90"),
]

COUNTRIES = [("BR", 88), ("PT", 5), ("US", 4), ("AR", 3)]
CURRENCY = {"BR": "BRL", "PT": "EUR", "US": "USD", "AR": "ARS"}
REGIONS = {
    "BR": [("SP", 35), ("RJ", 14), ("MG", 11), ("RS", 7), ("PR", 7), ("BA", 6), ("SC", 5), ("PE", 4),
           ("CE", 3), ("DF", 3), ("GO", 2), ("ES", 2), ("AM", 1)],
    "PT": [("LIS", 55), ("POR", 35), ("FAR", 10)],
    "US": [("CA", 35), ("NY", 30), ("FL", 25), ("TX", 10)],
    "AR": [("CABA", 60), ("CBA", 25), ("MZA", 15)],
}
BR_CEP_FIRST = {"SP": "01", "RJ": "2", "ES": "29", "MG": "3", "BA": "4", "PE": "5", "CE": "6", "DF": "7",
                "GO": "7", "PR": "8", "SC": "8", "RS": "9", "AM": "69"}
TIERS = [("none", 55), ("silver", 25), ("gold", 15), ("platinum", 5)]
PAYMENTS = [("credit_card", 520), ("pix", 280), ("boleto", 90), ("debit_card", 50), ("wallet", 40),
            ("gift_card", 15), ("crypto", 5)]
CHANNELS = [("web", 58), ("app", 32), ("marketplace", 10)]
REF_PREFIX = {"web": "WEB", "app": "APP", "marketplace": "MKT"}
LINES = [(1, 35), (2, 25), (3, 18), (4, 11), (5, 7), (6, 4)]
QUANTITY = [(1, 62), (2, 23), (3, 9), (4, 4), (5, 2)]
FIRST = ["Ana", "João", "Maria", "Pedro", "Luiza", "Carlos", "Beatriz", "Rafael", "Camila", "Lucas", "Fernanda",
         "Gabriel", "Juliana", "Mateus", "Larissa", "Bruno", "Patrícia", "Diego", "Aline", "Thiago", "Sofia",
         "Miguel", "Helena", "Arthur", "Valentina", "Davi", "Alice", "Heitor", "Laura", "Bernardo", "Inês",
         "Tomás", "Emily", "Noah", "Olivia", "Liam", "Martina", "Santiago", "Lucía", "Mateo"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
        "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
        "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas"]

# December 2026 in São Paulo time (UTC-3 all year since 2019): 1 Dec 00:00 to 1 Jan 00:00 local.
MONTH_START = int(dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc).timestamp())
MONTH_END = int(dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.timezone.utc).timestamp())
# 24 Dec 20:00-24:00 local = 24 Dec 23:00 UTC - 25 Dec 03:00 UTC.
XMAS_EVE_START = int(dt.datetime(2026, 12, 24, 23, 0, tzinfo=dt.timezone.utc).timestamp())
XMAS_EVE_END = XMAS_EVE_START + 4 * 3600
UTC_OFFSET = -3 * 3600
# Share of local hours 0..23 (a shopping day: quiet at night, busy in the evening).
HOURLY = [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 7, 7, 8, 9, 9, 7, 4]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        rng = self.rng
        self.customers = [("c-%05d" % i, weighted(rng, TIERS)) for i in range(1, 25001)]
        self.regulars = self.customers[:2000]          # a fifth of the orders come from 2,000 regulars
        v4 = ["203.0.113.%d" % i for i in range(1, 255)] + ["198.51.100.%d" % i for i in range(1, 255)] \
            + ["192.0.2.%d" % i for i in range(1, 255)]
        v6 = ["2001:db8:%x::%x" % (rng.randrange(1, 0xffff), rng.randrange(1, 0xffff)) for _ in range(600)]
        self.ips = v4 + v6
        self.hot_ips = self.ips[:40]                   # shared NATs, offices: many orders each

    def customer(self):
        rng = self.rng
        return rng.choice(self.regulars) if rng.random() < 0.2 else rng.choice(self.customers)

    def ip(self):
        rng = self.rng
        return rng.choice(self.hot_ips) if rng.random() < 0.15 else rng.choice(self.ips)

    def moment(self):
        """A second in December 2026 following the hourly shape, or on Christmas Eve evening."""
        rng = self.rng
        if rng.random() < 0.03:
            return rng.randrange(XMAS_EVE_START, XMAS_EVE_END)
        day = rng.randrange(31)
        hour = weighted(rng, list(enumerate(HOURLY)))
        return MONTH_START + day * 86400 + hour * 3600 + rng.randrange(3600)

    def items(self):
        rng = self.rng
        count = weighted(rng, LINES)
        chosen, seen = [], set()
        while len(chosen) < count:
            sku, category, price = rng.choice(PRESALE) if rng.random() < 0.10 else rng.choice(CATALOG)
            if sku in seen:
                continue
            seen.add(sku)
            quantity = weighted(rng, QUANTITY)
            if category == "grocery" and rng.random() < 0.3:
                quantity += rng.randrange(2, 8)         # a few bulk grocery lines
            item = {"sku": sku, "quantity": quantity, "unit_price": price, "category": category}
            if sku.startswith("SKU-PRE-"):
                item["presale"] = True
            elif rng.random() < 0.03:
                item["no_discount"] = True
            chosen.append(item)
        return chosen

    def ship_to(self, country=None):
        rng = self.rng
        country = country or weighted(rng, COUNTRIES)
        region = weighted(rng, REGIONS[country])
        if country == "BR":
            first = BR_CEP_FIRST[region]
            digits = first + "".join(str(rng.randrange(10)) for _ in range(5 - len(first)))
            postal = "%s-%03d" % (digits, rng.randrange(1000))
        elif country == "PT":
            postal = "%04d-%03d" % (rng.randrange(1000, 9999), rng.randrange(1000))
        elif country == "US":
            postal = "%05d" % rng.randrange(10000, 99999)
        else:
            postal = "%s%04d" % ("C" if region == "CABA" else "X", rng.randrange(1000, 9999))
        name = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
        return {"country": country, "region": region, "postal_code": postal, "name": name}

    def order(self, when, customer=None, ip=None, ship_to=None):
        rng = self.rng
        customer_id, tier = customer or self.customer()
        items = self.items()
        ship = ship_to or self.ship_to()
        country = ship["country"]
        total_cents = sum(int(i["unit_price"].replace(".", "")) * i["quantity"] for i in items)
        if country == "BR":
            fee = "0.00" if total_cents >= 19900 and rng.random() < 0.7 else rng.choice(
                ["9.90", "15.00", "19.90", "24.90", "39.90"])
            promised = weighted(rng, [(1, 6), (2, 12), (3, 14), (5, 18), (7, 16), (10, 14), (12, 10), (15, 10)])
        else:
            fee = rng.choice(["59.90", "89.90", "119.90", "149.90"])
            promised = rng.choice([10, 12, 15, 20, 25, 30])
        channel = weighted(rng, CHANNELS)
        payment = weighted(rng, PAYMENTS)
        if country != "BR" and payment in ("pix", "boleto"):
            payment = "credit_card"
        return {
            "_t": when,
            "channel": channel,
            "currency": CURRENCY[country],
            "customer": {"id": customer_id, "tier": tier},
            "items": items,
            "ship_to": ship,
            "payment": {"method": payment},
            "shipping": {"fee": fee, "promised_days": promised},
            "client_ip": ip or self.ip(),
        }

    def generate(self, count):
        rng = self.rng
        out = []
        while len(out) < count:
            left = count - len(out)
            roll = rng.random()
            start = self.moment()
            if roll < 0.0025:
                # One IP, 7-10 orders to different recipients within 10 s (the burst rule's case).
                ip = rng.choice(self.ips)
                t = start
                for _ in range(min(left, rng.randrange(7, 11))):
                    out.append(self.order(t, ip=ip))
                    t += rng.randrange(0, 2)
            elif roll < 0.0055:
                # One customer ordering 3-4 times within 8 minutes, same address.
                customer, ship = self.customer(), self.ship_to()
                t = start
                for _ in range(min(left, rng.randrange(3, 5))):
                    out.append(self.order(t, customer=customer, ship_to=ship))
                    t += rng.randrange(30, 150)
            elif roll < 0.0075:
                # Card testing: 5-6 small credit-card orders from one IP within 30 minutes.
                ip = rng.choice(self.ips)
                t = start
                for _ in range(min(left, rng.randrange(5, 7))):
                    o = self.order(t, ip=ip)
                    o["items"] = [{"sku": "SKU-GRO-1", "quantity": 1, "unit_price": "4.99", "category": "grocery"}]
                    o["payment"] = {"method": "credit_card"}
                    if o["ship_to"]["country"] == "BR":
                        o["shipping"]["fee"] = "15.00"
                    out.append(o)
                    t += rng.randrange(60, 360)
            else:
                out.append(self.order(start))
        # Time order; ties keep generation order. Then number them.
        out.sort(key=lambda o: o["_t"])
        refs = {"web": 0, "app": 0, "marketplace": 0}
        orders = []
        for n, o in enumerate(out, 1):
            refs[o["channel"]] += 1
            when = dt.datetime.fromtimestamp(min(o.pop("_t"), MONTH_END - 1), dt.timezone.utc)
            orders.append({
                "id": "ord_%06d" % n,
                "external_ref": "%s-%d" % (REF_PREFIX[o["channel"]], refs[o["channel"]]),
                "channel": o["channel"],
                "currency": o["currency"],
                "customer": o["customer"],
                "items": o["items"],
                "ship_to": o["ship_to"],
                "payment": o["payment"],
                "shipping": o["shipping"],
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "client_ip": o["client_ip"],
            })
        return orders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", "-n", type=int, default=100000, help="orders to write (default 100000)")
    parser.add_argument("--out", "-o", default=os.path.join(HERE, "orders.jsonl"),
                        help="output path (default benchmarks/rules/orders.jsonl)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args(argv)
    orders = Generator(args.seed).generate(args.count)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for o in orders:
            f.write(json.dumps(o, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
    os.replace(tmp, args.out)
    print("wrote %d orders to %s (seed %d)" % (len(orders), args.out, args.seed), file=sys.stderr)


if __name__ == "__main__":
    main()
