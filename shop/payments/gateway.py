"""The Stripe API, through the official library, pointed by configuration at Stripe or any
Stripe-compatible server (localstripe in development and tests). Amounts are integer đồng: VND
is zero-decimal for Stripe. Everything else in the app sees plain dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from flask import current_app

from core.errors import Conflict


class GatewayUnavailable(Conflict):
    """Stripe could not be reached or answered with an error that is not the card's."""


@dataclass(frozen=True)
class Declined:
    """The card was refused; the PaymentIntent it left behind (when known)."""

    code: str
    intent_id: str | None


def enabled() -> bool:
    return bool(current_app.config.get("STRIPE_API_KEY"))


def client() -> stripe.StripeClient:
    """One client per app (the library keeps its HTTP session in it)."""
    config = current_app.config
    cached = current_app.extensions.get("stripe_client")
    if cached is None:
        base = config.get("STRIPE_API_BASE") or None
        cached = stripe.StripeClient(
            config["STRIPE_API_KEY"],
            base_addresses={"api": base} if base else None,
            max_network_retries=0,  # a retried create would be a second charge on localstripe
        )
        current_app.extensions["stripe_client"] = cached
    return cached


def _unavailable(error: Exception) -> GatewayUnavailable:
    current_app.logger.warning("stripe: %s: %s", type(error).__name__, error)
    from flask_babel import gettext as _

    return GatewayUnavailable(
        _("Cổng thanh toán thẻ đang bận. Vui lòng thử lại sau ít phút."), code="gateway"
    )


def card_of_token(token_id: str) -> str:
    """The card a Stripe.js token stands for (the browser sends only the token)."""
    try:
        return client().v1.tokens.retrieve(token_id).card.id
    except stripe.InvalidRequestError as error:
        raise GatewayUnavailable(str(error.user_message or error), code="bad_token") from error
    except stripe.StripeError as error:
        raise _unavailable(error) from error


def _intent_of_charge(charge_id: str | None) -> str | None:
    if not charge_id:
        return None
    try:
        return client().v1.charges.retrieve(charge_id).to_dict().get("payment_intent")
    except stripe.StripeError:
        return None


def create_intent(
    *, amount_vnd: int, card_id: str, metadata: dict[str, str]
) -> dict[str, Any] | Declined:
    """Create and confirm a PaymentIntent in one call; a refused card is a Declined."""
    try:
        intent = client().v1.payment_intents.create(
            params={
                "amount": amount_vnd,
                "currency": "vnd",
                "payment_method": card_id,
                "confirm": True,
                "metadata": metadata,
            }
        )
    except stripe.CardError as error:
        body = (error.json_body or {}).get("error", {})
        intent = body.get("payment_intent") or {}
        intent_id = intent.get("id") if isinstance(intent, dict) else None
        return Declined(
            code=error.code or "card_declined",
            intent_id=intent_id or _intent_of_charge(body.get("charge")),
        )
    except stripe.StripeError as error:
        raise _unavailable(error) from error
    return intent.to_dict()


def retrieve_intent(intent_id: str) -> dict[str, Any] | None:
    try:
        return client().v1.payment_intents.retrieve(intent_id).to_dict()
    except stripe.InvalidRequestError:
        return None  # unknown to Stripe
    except stripe.StripeError as error:
        raise _unavailable(error) from error


def refund(intent_id: str, amount_vnd: int, metadata: dict[str, str]) -> dict[str, Any]:
    try:
        return (
            client()
            .v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount_vnd, "metadata": metadata}
            )
            .to_dict()
        )
    except stripe.StripeError as error:
        raise _unavailable(error) from error


def verified_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if Stripe signed it with our secret within the last 5 minutes; raises
    ValueError (not JSON) or stripe.SignatureVerificationError otherwise."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret:
        raise stripe.SignatureVerificationError("no webhook secret configured", signature)
    return stripe.Webhook.construct_event(payload, signature, secret).to_dict()
