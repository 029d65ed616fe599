from __future__ import annotations

from rest_framework import serializers

from catalog.models import Product
from reviews.models import Review


class ReviewSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=Product.objects.available())

    class Meta:
        model = Review
        fields = ["id", "product", "author_name", "rating", "title", "body", "created_at"]
        read_only_fields = ["id", "created_at"]
