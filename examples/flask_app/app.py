"""A minimal Flask app for zappa-eager: the smallest `app_function` project, where the fixed cost
of the first invocation shows most (the app itself does almost nothing per request)."""

from __future__ import annotations

import os

from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


PAGE = """<!doctype html>
<html><head><title>Flask on Lambda</title><link rel="stylesheet" href="{css}"></head>
<body><h1>Hello from Flask on AWS Lambda (zappa-eager)</h1><p><a href="{api}">JSON echo</a></p></body></html>
"""


@app.get("/")
def index() -> str:
    """An HTML page; its stylesheet is served by Flask's static route (``/static/style.css``)."""
    return PAGE.format(css=url_for("static", filename="style.css"), api=url_for("echo", q="hello"))


@app.get("/healthz")
def healthz() -> tuple[str, int]:
    return "ok\n", 200


@app.get("/api/echo")
def echo() -> object:
    """A JSON route: query string in, JSON out (request parsing and JSON encoding both run)."""
    return jsonify(
        path=request.path,
        args=request.args.to_dict(flat=True),
        method=request.method,
        function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
    )


if __name__ == "__main__":  # `python app.py` serves it locally
    app.run(debug=True)
