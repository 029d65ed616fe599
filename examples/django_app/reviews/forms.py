from __future__ import annotations

from django import forms

from reviews.models import Review


class ReviewForm(forms.ModelForm):
    rating = forms.TypedChoiceField(choices=[(n, f"{n} / 5") for n in range(5, 0, -1)], coerce=int)

    class Meta:
        model = Review
        fields = ["author_name", "rating", "title", "body"]
        labels = {"author_name": "Your name"}
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}
