"""Evaluates (flag, context) cases through the stock OpenFeature Python SDK with the stock OFREP
provider (openfeature-provider-ofrep), as a Python service would, and writes what the client sees:
value, variant, reason and error code.

Usage: interop.py <base URL> <bearer token> <cases.json> <results.json>
cases.json: [{"flag": "...", "type": "boolean"|"string"|"integer"|"number"|"object", "context": {...}}]
"""

import json
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

# Code defaults no flag serves, so a fallback to them is visible.
DEFAULTS = {"boolean": False, "string": "code-default", "integer": -1, "number": -1.0, "object": {}}


def main() -> None:
    base, token, cases_path, out_path = sys.argv[1:5]
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    api.set_provider(OFREPProvider(base, headers_factory=lambda: {"Authorization": f"Bearer {token}"}))
    client = api.get_client("interop")
    getters = {
        "boolean": client.get_boolean_details,
        "string": client.get_string_details,
        # The provider checks isinstance(value, float) and JSON's 10 is an int: a flag whose values
        # are all whole numbers is read as an integer flag, as a Python service would.
        "integer": client.get_integer_details,
        "number": client.get_float_details,
        "object": client.get_object_details,
    }
    results = []
    for case in cases:
        attrs = dict(case["context"])
        key = attrs.pop("targetingKey", None)
        ctx = EvaluationContext(targeting_key=key, attributes=attrs)
        d = getters[case["type"]](case["flag"], DEFAULTS[case["type"]], ctx)
        results.append(
            {
                "value": d.value,
                "variant": d.variant,
                "reason": str(d.reason.value if hasattr(d.reason, "value") else d.reason) if d.reason else None,
                "errorCode": d.error_code.value if d.error_code else None,
            }
        )
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)
    api.shutdown()


if __name__ == "__main__":
    main()
