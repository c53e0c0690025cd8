"""Order sub-resources for the Singer tap, added to the sandbox store's v2 routes in this process.

``tap-bigcommerce`` follows the three sub-resource links every v2 order carries
(``/orders/{id}/products``, ``/shipping_addresses``, ``/coupons``), which the sandbox does not
serve. Until it does, the peer runner adds them at run time (bodies in the v2 shapes: products and
one shipping address derived from the order, coupons as v2's empty list, a 204).
"""

from __future__ import annotations

import re
from typing import Any

_PATTERN = re.compile(r"^orders/(?P<id>\d+)/(?P<sub>products|shipping_addresses|coupons)$")


def _money(amount: float) -> str:
    return f"{amount:.4f}"


def _products(order: Any) -> list[dict[str, Any]]:
    data = order.data
    count = int(data.get("items_total") or 1)
    unit = float(data.get("subtotal_ex_tax") or 0) / count
    return [
        {
            "id": order.id * 10 + i,
            "order_id": order.id,
            "product_id": 100 + (order.id + i) % 50,
            "order_address_id": order.id,
            "name": f"Sandbox product {(order.id + i) % 50}",
            "sku": f"SB-{(order.id + i) % 50:05d}",
            "type": "physical",
            "base_price": _money(unit),
            "price_ex_tax": _money(unit),
            "price_inc_tax": _money(unit * 1.08),
            "price_tax": _money(unit * 0.08),
            "base_total": _money(unit),
            "total_ex_tax": _money(unit),
            "total_inc_tax": _money(unit * 1.08),
            "total_tax": _money(unit * 0.08),
            "quantity": 1,
            "base_cost_price": "0.0000",
            "cost_price_inc_tax": "0.0000",
            "cost_price_ex_tax": "0.0000",
            "weight": 1,
            "width": "0.0000",
            "depth": "0.0000",
            "height": "0.0000",
            "cost_price_tax": "0.0000",
            "is_refunded": False,
            "quantity_refunded": 0,
            "refund_amount": "0.0000",
            "return_id": 0,
            "wrapping_name": "",
            "base_wrapping_cost": "0.0000",
            "wrapping_cost_ex_tax": "0.0000",
            "wrapping_cost_inc_tax": "0.0000",
            "wrapping_cost_tax": "0.0000",
            "wrapping_message": "",
            "quantity_shipped": 0,
            "event_name": None,
            "event_date": "",
            "fixed_shipping_cost": "0.0000",
            "ebay_item_id": "",
            "ebay_transaction_id": "",
            "option_set_id": None,
            "parent_order_product_id": None,
            "is_bundled_product": False,
            "bin_picking_number": "",
            "applied_discounts": [],
            "product_options": [],
            "external_id": None,
        }
        for i in range(count)
    ]


def _shipping_addresses(order: Any) -> list[dict[str, Any]]:
    billing = dict(order.data.get("billing_address") or {})
    billing.pop("form_fields", None)
    shipping = float(order.data.get("base_shipping_cost") or 0)
    return [
        {
            "id": order.id,
            "order_id": order.id,
            **billing,
            "items_total": order.data.get("items_total", 1),
            "items_shipped": 0,
            "shipping_method": "Flat Rate",
            "base_cost": _money(shipping),
            "cost_ex_tax": _money(shipping),
            "cost_inc_tax": _money(shipping),
            "cost_tax": "0.0000",
            "cost_tax_class_id": 2,
            "base_handling_cost": "0.0000",
            "handling_cost_ex_tax": "0.0000",
            "handling_cost_inc_tax": "0.0000",
            "handling_cost_tax": "0.0000",
            "handling_cost_tax_class_id": 2,
            "shipping_zone_id": 1,
            "shipping_zone_name": "United States",
            "form_fields": [],
        }
    ]


def install() -> None:
    """Serve the three sub-resources of every order (idempotent)."""
    from bcsandbox import api
    from bcsandbox.messages import Response, json_response, no_content

    if any(pattern is _PATTERN for pattern, _ in api._V2_ROUTES):
        return

    def handler(call: Any) -> Response:
        order = call.store.get("orders", int(call.match["id"]))
        sub = call.match["sub"]
        if sub == "coupons":
            return no_content()
        body = _products(order) if sub == "products" else _shipping_addresses(order)
        return json_response(200, body)

    api._V2_ROUTES.append((_PATTERN, handler))
