"""``manage.py seed_demo``: fill an empty database with demo categories, products, reviews and orders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.demo import DEFAULT_PER_CATEGORY, seed_demo_data


class Command(BaseCommand):
    help = "Create demo catalog data (idempotent: existing products are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--per-category", type=int, default=DEFAULT_PER_CATEGORY, help="products per category (default %(default)s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo_data(per_category=options["per_category"])
        self.stdout.write(self.style.SUCCESS(
            f"Created {result.created_categories} categories, {result.created_products} products, "
            f"{result.created_reviews} reviews, {result.created_orders} orders."
        ))
