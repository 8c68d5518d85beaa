"""Source mappings for `brandlake import`: a YAML file per foreign export format, parsed into the frozen
``transforms.mapping.SourceMapping`` and validated completely before any data is read.

Every problem raises ``MappingError`` naming the mapping file and the offending key.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from pathlib import Path

import yaml

from brandlake.config import ConfigError, build
from brandlake.transforms import iso
from brandlake.transforms.mapping import MATCH_KEYS, REQUIRED_TARGETS, TARGET_FIELDS, SourceMapping

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
THOUSANDS_SEPARATORS = ("", ",", ".", " ", "'")


class MappingError(ValueError):
    """A source mapping is not valid YAML, has an unknown or missing key, or an inconsistent value."""


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and validate the mapping at ``path``."""
    p = Path(path)
    if not p.is_file():
        raise MappingError(f"mapping file {p} does not exist")
    return parse_mapping(p.read_text(encoding="utf-8"), origin=str(p))


def mapping_digest(mapping: SourceMapping) -> str:
    """A stable hash of the validated mapping (not of its YAML text: comments do not change it)."""
    return hashlib.sha256(repr(mapping).encode("utf-8")).hexdigest()[:16]


def parse_mapping(text: str, *, origin: str = "<mapping>") -> SourceMapping:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise MappingError(f"mapping {origin} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise MappingError(f"mapping {origin} must hold a mapping (key: value) at the top level")
    try:
        mapping = build(SourceMapping, data)
    except ConfigError as e:
        # build() names the key; it says "config key", which here is a mapping key.
        raise MappingError(f"mapping {origin}: " + str(e).replace("config key", "key").replace(
            "config section", "section")) from None
    problems = validate(mapping)
    if problems:
        raise MappingError(f"mapping {origin}: " + "; ".join(problems))
    return mapping


def validate(m: SourceMapping) -> list[str]:
    """Cross-field rules that the types alone cannot express; each message names its key."""
    out: list[str] = []
    if not _NAME.match(m.name):
        out.append(f"key 'name' must be lower_snake_case (letters, digits, _), found {m.name!r}")
    unknown = sorted(set(m.columns) - set(TARGET_FIELDS))
    if unknown:
        out.append(f"unknown target field(s) {', '.join(repr('columns.' + u) for u in unknown)}; "
                   f"expected some of {list(TARGET_FIELDS)}")
    missing = [t for t in REQUIRED_TARGETS if t not in m.columns]
    if missing:
        out.append(f"missing required target field(s) {', '.join(repr('columns.' + t) for t in missing)}")
    empty = [t for t, c in m.columns.items() if not c]
    if empty:
        out.append(f"key(s) {', '.join(repr('columns.' + t) for t in empty)} name no source column")
    f = m.file
    if f.format == "csv":
        if not f.delimiter:
            out.append("key 'file.delimiter' must not be empty for csv")
        if len(f.quote) > 1 or len(f.escape) > 1:
            out.append("keys 'file.quote' and 'file.escape' must be one character (or empty)")
    try:
        "".encode(f.encoding)
    except LookupError:
        out.append(f"key 'file.encoding' names an unknown encoding {f.encoding!r}")
    v = m.values
    try:
        zoneinfo.ZoneInfo(v.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        out.append(f"key 'values.time_zone' must be an IANA time zone (e.g. Europe/London), found {v.time_zone!r}")
    if not v.timestamp_format.strip():
        out.append("key 'values.timestamp_format' must not be empty")
    if v.thousands_separator not in THOUSANDS_SEPARATORS:
        out.append(f"key 'values.thousands_separator' must be one of {list(THOUSANDS_SEPARATORS)}, "
                   f"found {v.thousands_separator!r}")
    elif v.thousands_separator == v.decimal_separator:
        out.append("keys 'values.thousands_separator' and 'values.decimal_separator' must differ")
    c = m.constants
    if "currency" in m.columns and c.currency:
        out.append("currency is both fixed ('constants.currency') and mapped ('columns.currency'); choose one")
    elif "currency" not in m.columns and c.currency not in iso.CURRENCY_CODES:
        out.append(f"key 'constants.currency' must be an ISO 4217 currency code (e.g. GBP) when "
                   f"'columns.currency' is not mapped, found {c.currency!r}")
    for key, code in (("constants.platform.country", c.platform.country), ("constants.brand.home_country",
                      c.brand.home_country), ("constants.shop.country", c.shop.country)):
        if code not in iso.COUNTRY_CODES:
            out.append(f"key '{key}' must be an ISO 3166 alpha-2 country code (e.g. GB), found {code!r}")
    r = m.returns
    if r.marked_by == "order_id_prefix" and not r.order_id_prefix:
        out.append("key 'returns.order_id_prefix' is required when returns.marked_by is order_id_prefix")
    if r.marked_by == "status_value":
        if "status" not in m.columns:
            out.append("key 'columns.status' is required when returns.marked_by is status_value")
        if not r.status_values:
            out.append("key 'returns.status_values' is required when returns.marked_by is status_value")
    if r.marked_by == "negative_quantity" and r.quantity_sign != "negative":
        out.append("key 'returns.quantity_sign' must be negative when returns.marked_by is negative_quantity")
    bad_keys = [k for k in r.match_on if k not in MATCH_KEYS]
    if bad_keys:
        out.append(f"key 'returns.match_on' has unknown field(s) {bad_keys}; expected some of {list(MATCH_KEYS)}")
    if "sku_id" not in r.match_on:
        out.append("key 'returns.match_on' must include sku_id (a refund names one order line)")
    if "customer_id" in r.match_on and "customer_id" not in m.columns:
        out.append("key 'returns.match_on' uses customer_id but 'columns.customer_id' is not mapped")
    codes = m.non_product_codes
    seen: dict[str, str] = {}
    for group, values in (("shipping", codes.shipping), ("discount", codes.discount), ("excluded", codes.excluded)):
        for code in values:
            if code in seen:
                out.append(f"code {code!r} is in both 'non_product_codes.{seen[code]}' and "
                           f"'non_product_codes.{group}'")
            seen[code] = group
    if m.rules.product_id_pattern:
        try:
            if re.compile(m.rules.product_id_pattern).groups < 1:
                out.append("key 'rules.product_id_pattern' needs a capturing group (the product_id)")
        except re.error as e:
            out.append(f"key 'rules.product_id_pattern' is not a valid regex: {e}")
    unknown_maps = sorted(set(m.value_maps) - set(TARGET_FIELDS))
    if unknown_maps:
        out.append(f"unknown target field(s) in 'value_maps': {unknown_maps}")
    # a country name maps to a code or a name ISO 3166 knows, or to "" (unknown); anything else would only
    # be quarantined in silver, row by row
    for name, to in m.value_maps.get("ship_country", {}).items():
        if to.strip() and iso.lookup_country(to) is None:
            out.append(f"key 'value_maps.ship_country' maps {name!r} to {to!r}, which is no ISO 3166 country; "
                       "map it to a country code (e.g. IE) or to \"\" for unknown")
    return out
