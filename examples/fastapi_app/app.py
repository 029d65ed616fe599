"""A small FastAPI app for zappa-eager: an ASGI `app_function` project (upstream Zappa runs ASGI apps
through its own ASGI adapter), with pydantic models on the request and response paths."""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

app = FastAPI(title="FastAPI on Lambda (zappa-eager)")

PAGE = """<!doctype html>
<html><head><title>FastAPI on Lambda</title></head>
<body><h1>Hello from FastAPI on AWS Lambda (zappa-eager)</h1><p><a href="{items}">an item</a></p></body></html>
"""


class Item(BaseModel):
    id: int
    name: str
    tags: list[str] = Field(default_factory=list)
    price_cents: int = Field(ge=0)


class Order(BaseModel):
    items: list[int]
    note: str | None = None


class OrderReceipt(BaseModel):
    count: int
    total_cents: int
    function: str


CATALOG = {n: Item(id=n, name=f"item {n}", tags=["demo"], price_cents=100 * n) for n in range(1, 21)}


@app.get("/", response_class=HTMLResponse)
def index() -> str:
    return PAGE.format(items=app.url_path_for("item", item_id="1"))


@app.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "ok\n"


@app.get("/api/items/{item_id}", name="item")
def item(item_id: int) -> Item:
    """Path parameter validation in, a pydantic model serialized out."""
    return CATALOG[item_id]


@app.post("/api/orders")
def order(order: Order) -> OrderReceipt:
    """A JSON body validated into a model: the path where FastAPI does the most per request."""
    total = sum(CATALOG[i].price_cents for i in order.items if i in CATALOG)
    return OrderReceipt(count=len(order.items), total_cents=total,
                        function=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"))
