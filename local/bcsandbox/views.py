"""Each API version's JSON for a record: v2 in RFC 2822 with string money, v3 in ISO 8601."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from bcsandbox.dates import iso_offset, iso_z, rfc2822
from bcsandbox.records import Record, money

_API = "https://api.bigcommerce.com/stores"
_encode = json.JSONEncoder(separators=(",", ":")).encode

View = Callable[[Record, str], dict[str, Any]]


def _resource(store_hash: str, path: str) -> dict[str, str]:
    return {"url": f"{_API}/{store_hash}/v2{path}", "resource": path}


def order_v2(record: Record, store_hash: str) -> dict[str, Any]:
    """An order as `GET /v2/orders` returns it (schema `order_Resp`)."""
    body: dict[str, Any] = {
        "id": record.id,
        "date_created": rfc2822(record.created),
        "date_modified": rfc2822(record.modified),
    }
    body.update(record.data)
    base = f"/orders/{record.id}"
    body["products"] = _resource(store_hash, f"{base}/products")
    body["shipping_addresses"] = _resource(store_hash, f"{base}/shipping_addresses")
    body["coupons"] = _resource(store_hash, f"{base}/coupons")
    return body


def product_v3(record: Record, store_hash: str) -> dict[str, Any]:
    """A product as `GET /v3/catalog/products` returns it (schema `product_Full`)."""
    body: dict[str, Any] = {"id": record.id}
    body.update(record.data)
    body["date_created"] = iso_offset(record.created)
    body["date_modified"] = iso_offset(record.modified)
    return body


def customer_v3(record: Record, store_hash: str) -> dict[str, Any]:
    """A customer as `GET /v3/customers` returns it (schema `customer_Full`)."""
    body: dict[str, Any] = {"id": record.id}
    body.update(record.data)
    body["date_created"] = iso_z(record.created)
    body["date_modified"] = iso_z(record.modified)
    return body


def product_v2(record: Record, store_hash: str) -> dict[str, Any]:
    """A product in the deprecated v2 shape (no spec left to check it against; see the report)."""
    d = record.data
    return {
        "id": record.id,
        "keyword_filter": None,
        "name": d["name"],
        "type": d["type"],
        "sku": d["sku"],
        "description": d["description"],
        "search_keywords": d["search_keywords"],
        "availability_description": d["availability_description"],
        "price": money(d["price"]),
        "cost_price": money(d["cost_price"]),
        "retail_price": money(d["retail_price"]),
        "sale_price": money(d["sale_price"]),
        "calculated_price": money(d["calculated_price"]),
        "sort_order": d["sort_order"],
        "is_visible": d["is_visible"],
        "is_featured": d["is_featured"],
        "related_products": "-1",
        "inventory_level": d["inventory_level"],
        "inventory_warning_level": d["inventory_warning_level"],
        "warranty": d["warranty"],
        "weight": money(d["weight"]),
        "width": money(d["width"]),
        "height": money(d["height"]),
        "depth": money(d["depth"]),
        "fixed_cost_shipping_price": money(d["fixed_cost_shipping_price"]),
        "is_free_shipping": d["is_free_shipping"],
        "inventory_tracking": d["inventory_tracking"],
        "rating_total": d["reviews_rating_sum"],
        "rating_count": d["reviews_count"],
        "total_sold": d["total_sold"],
        "date_created": rfc2822(record.created),
        "brand_id": d["brand_id"],
        "view_count": d["view_count"],
        "page_title": d["page_title"],
        "meta_keywords": None,
        "meta_description": d["meta_description"],
        "layout_file": d["layout_file"],
        "is_price_hidden": d["is_price_hidden"],
        "price_hidden_label": d["price_hidden_label"],
        "categories": d["categories"],
        "date_modified": rfc2822(record.modified),
        "condition": d["condition"],
        "is_condition_shown": d["is_condition_shown"],
        "preorder_release_date": "",
        "is_preorder_only": d["is_preorder_only"],
        "preorder_message": d["preorder_message"],
        "upc": d["upc"],
        "date_last_imported": "",
        "tax_class_id": d["tax_class_id"],
        "bin_picking_number": d["bin_picking_number"],
        "custom_url": d["custom_url"]["url"],
        "availability": d["availability"],
        "skus": _resource(store_hash, f"/products/{record.id}/skus"),
        "images": _resource(store_hash, f"/products/{record.id}/images"),
        "custom_fields": _resource(store_hash, f"/products/{record.id}/custom_fields"),
    }


def customer_v2(record: Record, store_hash: str) -> dict[str, Any]:
    """A customer in the deprecated v2 shape (Customers V2 spec, `customer_Full`)."""
    d = record.data
    return {
        "id": record.id,
        "company": d["company"],
        "first_name": d["first_name"],
        "last_name": d["last_name"],
        "email": d["email"],
        "phone": d["phone"],
        "form_fields": None,
        "date_created": rfc2822(record.created),
        "date_modified": rfc2822(record.modified),
        "store_credit": "0.0000",
        "registration_ip_address": d["registration_ip_address"],
        "customer_group_id": d["customer_group_id"],
        "notes": d["notes"],
        "tax_exempt_category": d["tax_exempt_category"],
        "reset_pass_on_login": d["authentication"].get("force_password_reset", False),
        "accepts_marketing": d["accepts_product_review_abandoned_cart_emails"],
        "addresses": _resource(store_hash, f"/customers/{record.id}/addresses"),
    }


def store_information(store_hash: str, name: str, admin_email: str) -> dict[str, Any]:
    """`GET /v2/store` (schema `StoreInformation`), in UTC."""
    h = store_hash
    return {
        "id": h,
        "account_uuid": "8d4d492f-17a1-4d95-b396-e1c5720815a5",
        "domain": f"{h}.example.com",
        "secure_url": f"https://{h}.example.com",
        "control_panel_base_url": f"https://store-{h}.mybigcommerce.com",
        "status": "live",
        "name": name,
        "first_name": "Sandbox",
        "last_name": "Owner",
        "address": "1 Sandbox Way, Austin, Texas 78751",
        "country": "United States",
        "country_code": "US",
        "phone": "555-0100",
        "admin_email": admin_email,
        "order_email": admin_email,
        "favicon_url": "",
        "language": "en",
        "timezone": {
            "name": "Etc/UTC",
            "raw_offset": 0,
            "dst_offset": 0,
            "dst_correction": False,
            "date_format": {"display": "M jS Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"},
        },
        "currency": "USD",
        "currency_symbol": "$",
        "decimal_separator": ".",
        "thousands_separator": ",",
        "decimal_places": 2,
        "currency_symbol_location": "left",
        "weight_units": "Ounces",
        "dimension_units": "Inches",
        "dimension_decimal_places": 2,
        "dimension_decimal_token": ".",
        "dimension_thousands_token": ",",
        "plan_name": "Standard",
        "plan_level": "Standard",
        "plan_is_trial": False,
        "industry": "Technology",
        "logo": [],
        "is_price_entered_with_tax": False,
        "store_id": 1000001,
        "default_channel_id": 1,
        "default_site_id": 1000,
        "active_comparison_modules": [],
        "features": {"stencil_enabled": True, "multi_storefront_enabled": False},
    }


def encode(value: Any) -> bytes:
    """Compact JSON, as BigCommerce sends it."""
    return _encode(value).encode()


def encode_records(records: Iterable[Record], view: View, store_hash: str) -> bytes:
    """A JSON array of records, encoded in one pass."""
    return encode([view(r, store_hash) for r in records])
