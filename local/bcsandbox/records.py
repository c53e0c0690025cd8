"""The sandbox's records and the realistic, deterministic data they are built from.

A record keeps its id and dates apart from the rest of its fields so listing can filter and sort
on plain integers; `views` turns a record into each API version's JSON.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from bcsandbox.statuses import ORDER_STATUSES

_FIRST = ("Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Priya", "Tom", "Yuki", "Carlos", "Fatima", "Noah")
_LAST = ("Doe", "Smith", "Garcia", "Chen", "Okafor", "Jensen", "Patel", "Brown", "Tanaka", "Silva", "Khan")
_CITIES = (
    ("Austin", "Texas", "78751"),
    ("Denver", "Colorado", "80202"),
    ("Portland", "Oregon", "97205"),
    ("Chicago", "Illinois", "60601"),
    ("Boston", "Massachusetts", "02108"),
)
_PRODUCTS = (
    "Smith Journal 13",
    "Orbit Terrarium - Large",
    "Utility Caddy",
    "Canvas Laundry Cart",
    "Chemex Coffeemaker 3 Cup",
    "Able Brewing System",
    "Oak Cheese Grater",
    "1 L Le Parfait Jar",
    "Tiered Wire Basket",
    "Dustpan & Brush",
    "Sample Tote Bag",
    "Fog Linen Chambray Towel",
)
_PAYMENT = ("Credit Card", "Cash", "PayPal", "Manual")
_STATUS_CYCLE = (11, 7, 10, 2, 9, 11, 10, 1, 5, 11)


@dataclass(slots=True)
class Record:
    """One order, product or customer. `data` holds every field except id and dates."""

    id: int
    created: int
    modified: int
    data: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """A field for filtering and sorting, dates and id included."""
        if name == "id":
            return self.id
        if name == "date_created":
            return self.created
        if name == "date_modified":
            return self.modified
        return self.data.get(name)


def money(amount: float) -> str:
    """v2 money: a string with four decimals (`"225.0000"`)."""
    return f"{amount:.4f}"


def person(n: int) -> tuple[str, str, str]:
    """A deterministic first name, last name and email for index `n`."""
    first, last = _FIRST[n % len(_FIRST)], _LAST[(n // len(_FIRST)) % len(_LAST)]
    return first, last, f"{first.lower()}.{last.lower()}{n}@example.com"


def order_data(n: int, store_hash: str) -> dict[str, Any]:
    """Every field of a v2 order except id and dates, realistic and deterministic in `n`."""
    first, last, email = person(n)
    city, state, zipcode = _CITIES[n % len(_CITIES)]
    items = 1 + n % 4
    subtotal = round(12.5 * items + (n % 7) * 3.25, 2)
    shipping = 0.0 if subtotal > 50 else 5.0
    tax = round(subtotal * 0.08, 2)
    total_ex, total_inc = subtotal + shipping, subtotal + shipping + tax
    status_id = _STATUS_CYCLE[n % len(_STATUS_CYCLE)]
    return {
        "customer_id": n % 11,
        "date_shipped": "",
        "status_id": status_id,
        "status": ORDER_STATUSES[status_id][0],
        "custom_status": ORDER_STATUSES[status_id][0],
        "subtotal_ex_tax": money(subtotal),
        "subtotal_inc_tax": money(subtotal + tax),
        "subtotal_tax": money(tax),
        "base_shipping_cost": money(shipping),
        "shipping_cost_ex_tax": money(shipping),
        "shipping_cost_inc_tax": money(shipping),
        "shipping_cost_tax": "0.0000",
        "shipping_cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_cost_tax_class_id": 3,
        "total_ex_tax": money(total_ex),
        "total_inc_tax": money(total_inc),
        "total_tax": money(tax),
        "is_tax_inclusive_pricing": False,
        "items_total": items,
        "items_shipped": 0,
        "payment_method": _PAYMENT[n % len(_PAYMENT)],
        "payment_provider_id": "",
        "payment_status": "captured" if status_id in (2, 9, 10, 11) else "authorized",
        "refunded_amount": "0.0000",
        "order_is_digital": False,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "ip_address": f"192.0.2.{n % 250 + 1}",
        "ip_address_v6": "",
        "geoip_country": "United States",
        "geoip_country_iso2": "US",
        "currency_id": 1,
        "currency_code": "USD",
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": "USD",
        "store_default_currency_code": "USD",
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "staff_notes": "",
        "customer_message": "",
        "discount_amount": "0.0000",
        "coupon_discount": "0.0000",
        "shipping_address_count": 1,
        "is_deleted": False,
        "ebay_order_id": "0",
        "cart_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bcsandbox:{store_hash}:cart:{n}")),
        "billing_address": {
            "first_name": first,
            "last_name": last,
            "company": "",
            "street_1": f"{100 + n % 900} Main Street",
            "street_2": "",
            "city": city,
            "state": state,
            "zip": zipcode,
            "country": "United States",
            "country_iso2": "US",
            "phone": f"555-01{n % 100:02d}",
            "email": email,
            "form_fields": [],
        },
        "is_email_opt_in": n % 3 == 0,
        "credit_card_type": None,
        "order_source": "www",
        "channel_id": 1,
        "external_source": None,
        "external_id": None,
        "external_merchant_id": None,
        "tax_provider_id": "BasicTaxProvider",
        "customer_locale": "en",
        "external_order_id": "",
    }


def product_data(n: int) -> dict[str, Any]:
    """Every field of a v3 catalog product except id and dates."""
    name = _PRODUCTS[n % len(_PRODUCTS)]
    if n >= len(_PRODUCTS):
        name = f"{name} #{n // len(_PRODUCTS) + 1}"
    price = round(9.95 + (n % 20) * 4.5, 2)
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return {
        "name": name,
        "type": "physical",
        "sku": f"SB-{n:05d}",
        "description": f"<p>{name}: a sturdy, everyday item from the sandbox catalog.</p>",
        "weight": float(1 + n % 5),
        "width": 10.0,
        "depth": 5.0,
        "height": 3.0,
        "price": price,
        "cost_price": round(price * 0.4, 2),
        "retail_price": 0.0,
        "sale_price": 0.0,
        "map_price": 0,
        "tax_class_id": 0,
        "product_tax_code": "",
        "calculated_price": price,
        "categories": [23 + n % 3],
        "brand_id": 0,
        "option_set_id": 0,
        "option_set_display": "right",
        "inventory_level": 100 - n % 100,
        "inventory_warning_level": 5,
        "inventory_tracking": "none",
        "reviews_rating_sum": 0,
        "reviews_count": 0,
        "total_sold": n % 40,
        "fixed_cost_shipping_price": 0.0,
        "is_free_shipping": False,
        "is_visible": True,
        "is_featured": n % 5 == 0,
        "related_products": [-1],
        "warranty": "",
        "bin_picking_number": "",
        "layout_file": "product.html",
        "upc": "",
        "mpn": "",
        "gtin": "",
        "search_keywords": "",
        "availability": "available",
        "availability_description": "",
        "gift_wrapping_options_type": "any",
        "gift_wrapping_options_list": [],
        "sort_order": 0,
        "condition": "New",
        "is_condition_shown": False,
        "order_quantity_minimum": 0,
        "order_quantity_maximum": 0,
        "page_title": "",
        "meta_keywords": [],
        "meta_description": "",
        "view_count": 0,
        "preorder_release_date": None,
        "preorder_message": "",
        "is_preorder_only": False,
        "is_price_hidden": False,
        "price_hidden_label": "",
        "custom_url": {"url": f"/{slug}/", "is_customized": False},
        "base_variant_id": 1000 + n,
        "open_graph_type": "product",
        "open_graph_title": "",
        "open_graph_description": "",
        "open_graph_use_meta_description": True,
        "open_graph_use_product_name": True,
        "open_graph_use_image": True,
    }


def customer_data(n: int) -> dict[str, Any]:
    """Every field of a v3 customer except id and dates."""
    first, last, email = person(n)
    return {
        "email": email,
        "first_name": first,
        "last_name": last,
        "company": "",
        "phone": f"555-02{n % 100:02d}",
        "registration_ip_address": "",
        "notes": "",
        "tax_exempt_category": "",
        "customer_group_id": 0,
        "address_count": 0,
        "attribute_count": 0,
        "authentication": {"force_password_reset": False},
        "accepts_product_review_abandoned_cart_emails": False,
        "origin_channel_id": 1,
        "channel_ids": [1],
    }


def apply_order_fields(data: dict[str, Any], fields: dict[str, Any]) -> None:
    """Merge caller fields into an order; a new `status_id` brings its status name along."""
    if "status_id" in fields:
        status_id = int(fields["status_id"])
        if status_id not in ORDER_STATUSES:
            raise ValueError(f"unknown status_id {status_id}")
        name = ORDER_STATUSES[status_id][0]
        data["status"] = data["custom_status"] = name
    for key, value in fields.items():
        if key == "billing_address" and isinstance(value, dict):
            data["billing_address"] = {**data["billing_address"], **value}
        else:
            data[key] = value
