"""Pages of the GPU side. Each renders what the scheduler's selectors return."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def gpu_board(request):
    return render(request, "scheduler/gpu_board.html", {})


@login_required
def booking_timeline(request):
    return render(request, "scheduler/booking_timeline.html", {})


@login_required
def job_list(request):
    return render(request, "scheduler/job_list.html", {})
