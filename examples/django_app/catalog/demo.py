"""Deterministic demo data: categories, products, reviews and a few orders.

Used by ``manage.py seed_demo`` and by the ``SHOP_AUTO_MIGRATE`` bootstrap, so it must be
idempotent (existing slugs are skipped) and quick (bulk inserts, no password hashing).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import router, transaction

from catalog.cache import bump_generation
from catalog.models import Category, Product

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("coffee", "Coffee", "Single-origin beans and blends, roasted weekly."),
    ("tea", "Tea", "Loose-leaf green, black and herbal teas."),
    ("brewing", "Brewing gear", "Kettles, grinders, drippers and presses."),
    ("mugs", "Mugs & cups", "Stoneware, glass and enamel."),
    ("snacks", "Snacks", "Things that go well with a cup."),
    ("gifts", "Gift boxes", "Curated sets for the coffee-curious."),
)
ADJECTIVES = ("Classic", "Bold", "Smooth", "Bright", "Dark", "Golden", "Wild", "Velvet", "Morning", "Midnight")
DEFAULT_PER_CATEGORY = 8


@dataclass(frozen=True)
class SeedResult:
    created_categories: int
    created_products: int
    created_reviews: int
    created_orders: int


def _price(category_index: int, product_index: int) -> Decimal:
    return Decimal(4 + category_index * 3 + product_index * 2) + Decimal("0.95")


def seed_demo_data(per_category: int = DEFAULT_PER_CATEGORY, only_if_empty: bool = False) -> SeedResult:
    """Create the demo catalog on the primary database; existing rows are left alone."""
    from orders.models import Order, OrderItem
    from reviews.models import Review

    using = router.db_for_write(Product)
    if only_if_empty and Product.objects.using(using).exists():
        return SeedResult(0, 0, 0, 0)
    with transaction.atomic(using=using):
        existing = set(Category.objects.using(using).values_list("slug", flat=True))
        new_categories = [Category(slug=s, name=n, description=d) for s, n, d in CATEGORIES if s not in existing]
        Category.objects.using(using).bulk_create(new_categories)
        categories = Category.objects.using(using).in_bulk([s for s, _, _ in CATEGORIES], field_name="slug")

        existing = set(Product.objects.using(using).values_list("slug", flat=True))
        new_products = []
        for c_index, (c_slug, c_name, _) in enumerate(CATEGORIES):
            for p_index in range(per_category):
                adjective = ADJECTIVES[(c_index + p_index) % len(ADJECTIVES)]
                slug = f"{c_slug}-{p_index + 1:02d}"
                if slug in existing:
                    continue
                new_products.append(Product(
                    category=categories[c_slug],
                    name=f"{adjective} {c_name.split()[0].rstrip('s')} No. {p_index + 1}",
                    slug=slug,
                    sku=f"{c_slug[:3].upper()}-{p_index + 1:04d}",
                    description=f"A {adjective.lower()} pick from our {c_name.lower()} range.",
                    price=_price(c_index, p_index),
                    stock=(c_index * 7 + p_index * 5) % 40,
                ))
        Product.objects.using(using).bulk_create(new_products)
        created = Product.objects.using(using).in_bulk([p.slug for p in new_products], field_name="slug")

        reviews = [
            Review(product=product, author_name=author, rating=rating, title=title, body=f"{title} Would buy again.")
            for index, product in enumerate(created.values())
            if index % 2 == 0
            for author, rating, title in (("Alex", 5, "Excellent."), ("Sam", 3 + index % 3, "Pretty good."))
        ]
        Review.objects.using(using).bulk_create(reviews)

        orders = 0
        if created and not Order.objects.using(using).exists():
            products = list(created.values())
            for index in range(3):
                picked = products[index::7][:2]
                order = Order.objects.using(using).create(
                    email=f"customer{index + 1}@example.com",
                    status=(Order.Status.PAID, Order.Status.SHIPPED, Order.Status.PENDING)[index],
                    total=sum((p.price for p in picked), Decimal("0.00")),
                )
                OrderItem.objects.using(using).bulk_create(
                    [OrderItem(order=order, product=p, quantity=1, unit_price=p.price) for p in picked]
                )
                orders += 1
    # bulk_create sends no post_save signals.
    bump_generation()
    return SeedResult(len(new_categories), len(new_products), len(reviews), orders)
