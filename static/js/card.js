// The card page: Stripe.js turns the card into a token in the browser (no card number reaches
// Chợ Quê); 3-D Secure is finished here, then the server asks Stripe itself.
(function () {
  "use strict";
  if (typeof Stripe === "undefined") return;
  var check = document.getElementById("check-form");
  if (check && check.dataset.clientSecret) {
    var stripe3ds = Stripe(check.dataset.stripeKey);
    stripe3ds.confirmCardPayment(check.dataset.clientSecret).then(function () {
      check.submit();
    });
    return;
  }
  var form = document.getElementById("card-form");
  if (!form) return;
  var stripe = Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", function (event) {
    if (form.elements.token.value) return;
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    errors.textContent = "";
    stripe.createToken(card).then(function (result) {
      if (result.error || !result.token) {
        errors.textContent = form.dataset.cardError;
        button.disabled = false;
        return;
      }
      form.elements.token.value = result.token.id;
      form.submit();
    });
  });
})();
