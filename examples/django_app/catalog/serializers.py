from __future__ import annotations

from rest_framework import serializers

from catalog.models import Category, Product


class CategorySerializer(serializers.ModelSerializer):
    product_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description", "product_count"]


class CategorySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["name", "slug"]


class ProductSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:product-detail", lookup_field="slug")
    category = CategorySummarySerializer(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    rating = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True, allow_null=True)
    review_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ["id", "url", "name", "slug", "sku", "category", "price", "stock", "in_stock", "rating",
                  "review_count"]


class ProductDetailSerializer(ProductSerializer):
    recent_reviews = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "description", "created_at", "updated_at", "recent_reviews"]

    def get_recent_reviews(self, product: Product) -> list[dict[str, object]]:
        from reviews.serializers import ReviewSerializer

        reviews = product.reviews.filter(is_published=True).order_by("-created_at")[:5]
        return ReviewSerializer(reviews, many=True, context=self.context).data
