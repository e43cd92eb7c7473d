#!/usr/bin/env python3
"""What openapi-spec-validator does not check in the API document: every request body and every
2xx answer with a body has an example (on the media type or on its schema); every example in
the document fits the schema it illustrates (JSON Schema 2020-12, with the document's `$ref`s);
every link names an operation that exists and only parameters that operation takes. Prints each
problem and exits non-zero when there is one.

Usage: document.py openapi/openapi.json
"""

import json
import sys

from jsonschema import Draft202012Validator

METHODS = ("get", "put", "post", "patch", "delete")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "openapi/openapi.json"
    doc = json.load(open(path))
    problems = []
    checked = 0

    def schema_of(schema):
        """A schema with its `$ref` (to a component) followed."""
        while isinstance(schema, dict) and "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def fits(where, schema, example):
        nonlocal checked
        checked += 1
        # The document's components ride along, so `#/components/schemas/…` resolves.
        validator = Draft202012Validator(
            {**schema, "components": doc["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for error in validator.iter_errors(example):
            problems.append(f"{where}: the example does not fit its schema at /{'/'.join(map(str, error.absolute_path))}: {error.message}")

    def examples_of(media, schema):
        found = []
        if "example" in media:
            found.append(media["example"])
        found += [e.get("value") for e in media.get("examples", {}).values()]
        # The schema's own examples, or (for `X or null`) those of its alternatives.
        for candidate in [schema] + schema.get("oneOf", []) + schema.get("anyOf", []):
            resolved = schema_of(candidate)
            if isinstance(resolved, dict):
                found += resolved.get("examples", [])
        return found

    operations = {}
    for route, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                operations[item[method]["operationId"]] = (f"{method.upper()} {route}", item[method], route)

    for name, operation, route in operations.values():
        body = operation.get("requestBody")
        parts = []
        if body:
            parts += [(f"{name} request ({media_type})", media) for media_type, media in body["content"].items()]
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                parts += [(f"{name} {status} ({media_type})", media) for media_type, media in answer.get("content", {}).items()]
        for where, media in parts:
            schema = media.get("schema", {})
            found = examples_of(media, schema)
            if not found:
                problems.append(f"{where}: no example")
            for example in found:
                fits(where, schema, example)

        # Links: to an operation that exists, with parameters it takes.
        for status, answer in operation["responses"].items():
            for link_name, link in answer.get("links", {}).items():
                target = operations.get(link.get("operationId"))
                where = f"{name} {status} link {link_name}"
                if not target:
                    problems.append(f"{where}: no operation {link.get('operationId')}")
                    continue
                taken = {p["name"] for p in target[1].get("parameters", [])}
                for parameter in link.get("parameters", {}):
                    bare = parameter.split(".", 1)[-1]
                    if bare not in taken:
                        problems.append(f"{where}: {target[0]} takes no parameter {parameter}")

    # Every example on a component schema fits it too, used in an answer or not.
    for schema_name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            fits(f"schema {schema_name}", {"$ref": f"#/components/schemas/{schema_name}"}, example)

    for problem in problems:
        print(problem)
    print(f"{checked} examples checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
