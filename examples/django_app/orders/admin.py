from __future__ import annotations

from django.contrib import admin

from orders.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["reference", "email", "status", "total", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["email", "reference"]
    readonly_fields = ["reference", "total", "created_at", "updated_at"]
    raw_id_fields = ["user"]
    inlines = [OrderItemInline]
