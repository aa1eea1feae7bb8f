from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def labeling_home(request):
    return render(request, "labeling/home.html", {})
