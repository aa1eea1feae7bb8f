// "My bookings": a cancel asks first (the forms post without JavaScript too).
document.querySelectorAll("form.cancel-booking").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});
