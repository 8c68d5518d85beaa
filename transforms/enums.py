"""The value sets of enumerated columns that more than one part of the pipeline checks.

Defined once: the silver conform transforms tag other values ``unknown_enum:<col>``, the data contracts
(expectations/suites.py) hold the same sets in their ``in_set_<col>`` rules, and gold settlement splits
discounts by ``DISCOUNT_TYPES``, so none of them can drift from the others.
"""

from __future__ import annotations

ORDER_STATUSES = ("created", "paid", "shipped", "completed", "cancelled")
DISCOUNT_TYPES = ("threshold", "coupon", "cross_shop")
PAYMENT_KINDS = ("full", "deposit", "balance")
PROMOTION_TYPES = ("threshold", "percentage", "coupon", "cross_shop", "presale")
CLICK_EVENT_TYPES = ("view", "cart", "purchase")
