"""The help-centre articles the demo shop is seeded with. Keep them consistent with `catalog.POLICIES`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    tags: tuple[str, ...]
    body: str


ARTICLES: tuple[Article, ...] = (
    Article(
        "shipping-times",
        "How long does shipping take?",
        ("shipping", "delivery"),
        "Standard shipping takes 3-5 business days within the US and 5-10 business days to Europe and "
        "the UK. Express shipping arrives in 1-2 business days. Orders placed before 2 pm ship the same day.",
    ),
    Article(
        "shipping-costs",
        "How much does shipping cost?",
        ("shipping", "fees"),
        "Shipping is free on orders of 50.00 or more. Smaller orders pay a flat 4.99. Digital goods and "
        "gift cards are delivered by email and never carry a shipping fee.",
    ),
    Article(
        "international-shipping",
        "Do you ship internationally?",
        ("shipping", "international", "customs"),
        "We ship to the US, the UK and the European Union. Prices in EUR and GBP include VAT; customs "
        "duties outside these regions are the customer's responsibility.",
    ),
    Article(
        "order-tracking",
        "How do I track my order?",
        ("order", "tracking", "shipping"),
        "Once your order ships you receive an email with a tracking number. You can also ask support for "
        "the status of your order with its number, for example #10002.",
    ),
    Article(
        "order-status-meanings",
        "What does my order status mean?",
        ("order", "status"),
        "Pending means we are waiting for payment. Paid means payment was captured and the order is being "
        "packed. Shipped means it is on its way; delivered means the carrier confirmed delivery.",
    ),
    Article(
        "cancel-order",
        "Can I cancel my order?",
        ("order", "cancel"),
        "Orders can be cancelled while they are pending or paid and not yet shipped. If payment was "
        "captured, the full amount is refunded automatically. Shipped orders must be returned instead.",
    ),
    Article(
        "change-address",
        "Can I change my delivery address?",
        ("order", "address", "shipping"),
        "You can change the address until the order ships. Contact support with your order number and the "
        "new address. Once shipped, the carrier may offer a redirect for a fee.",
    ),
    Article(
        "return-policy",
        "What is your return policy?",
        ("returns", "refund", "policy"),
        "Most items can be returned within 30 days of delivery. Apparel has 60 days, beauty products 14 "
        "days if unopened. Groceries, perishables and gift cards cannot be returned.",
    ),
    Article(
        "how-to-return",
        "How do I return an item?",
        ("returns", "refund", "label"),
        "Ask support for a return label, pack the item in its original packaging and drop it at any carrier "
        "point. We inspect returns within 3 business days of arrival.",
    ),
    Article(
        "refund-timing",
        "When will I get my refund?",
        ("refund", "payment", "timing"),
        "Refunds go back to the original payment method. Cards show the refund within 5-10 business days, "
        "PayPal within 3-5 days. Partial refunds are shown as a separate line on your statement.",
    ),
    Article(
        "electronics-returns",
        "Returning electronics",
        ("returns", "electronics", "refund"),
        "Electronics can be returned within 30 days of delivery in the original packaging with all "
        "accessories. After 30 days, defective devices are handled under the warranty.",
    ),
    Article(
        "apparel-returns",
        "Returning clothes and shoes",
        ("returns", "apparel", "size", "exchange"),
        "Unworn clothing and shoes with tags attached can be returned within 60 days of delivery. "
        "Exchanges for another size are free.",
    ),
    Article(
        "perishables-policy",
        "Groceries and perishable goods",
        ("returns", "groceries", "perishable"),
        "For food safety, groceries and perishables are not refundable. If a delivery arrives damaged or "
        "spoiled, send us a photo within 48 hours and we will replace it.",
    ),
    Article(
        "digital-goods-refunds",
        "Refunds for digital goods",
        ("digital", "refund", "download"),
        "E-books, music, games and software can be refunded within 14 days of purchase only if they have "
        "not been downloaded or activated. Downloaded items are final sale.",
    ),
    Article(
        "gift-cards",
        "Gift cards",
        ("gift card", "payment"),
        "Gift cards never expire and can be used for any product. They cannot be refunded or exchanged for "
        "cash. Lost gift card codes can be reissued to the purchaser.",
    ),
    Article(
        "damaged-item",
        "My item arrived damaged",
        ("damaged", "returns", "replacement"),
        "We are sorry! Send a photo of the damage and the packaging to support within 7 days of delivery. "
        "We send a replacement or a full refund, and you do not need to return the broken item.",
    ),
    Article(
        "wrong-item",
        "I received the wrong item",
        ("wrong item", "returns", "order"),
        "Contact support with your order number. We ship the correct item at no cost and send a prepaid "
        "label for the wrong one.",
    ),
    Article(
        "missing-package",
        "My package has not arrived",
        ("shipping", "lost", "tracking"),
        "If tracking shows delivered but you cannot find the package, check with neighbours and wait 48 "
        "hours. After that, support opens a carrier claim and reships or refunds the order.",
    ),
    Article(
        "payment-methods",
        "Which payment methods do you accept?",
        ("payment", "card", "paypal"),
        "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay. Orders in EUR and "
        "GBP are charged in that currency with no conversion fee from us.",
    ),
    Article(
        "payment-declined",
        "Why was my payment declined?",
        ("payment", "declined", "card"),
        "Declines usually come from the bank: insufficient funds, an expired card or a security check. "
        "Try again or use another method; a failed attempt is never charged.",
    ),
    Article(
        "double-charge",
        "I was charged twice",
        ("payment", "charge", "refund"),
        "A second line is often a pending authorisation that disappears within 3 business days. If both "
        "charges are captured, contact support and we refund the duplicate immediately.",
    ),
    Article(
        "invoice-vat",
        "How do I get an invoice?",
        ("invoice", "vat", "payment"),
        "An invoice with VAT details is attached to your shipping confirmation email. Business customers "
        "can ask support to add a company name and VAT number.",
    ),
    Article(
        "password-reset",
        "How do I reset my password?",
        ("account", "password", "login"),
        "Choose 'Forgot password' on the sign-in page or ask support to send a reset link. The link is "
        "valid for 1 hour. For your security we never say whether an email address has an account.",
    ),
    Article(
        "account-locked",
        "My account is locked",
        ("account", "login", "security"),
        "After 5 failed sign-in attempts an account is locked for 15 minutes. Reset your password to "
        "unlock it straight away.",
    ),
    Article(
        "account-deletion",
        "How do I delete my account?",
        ("account", "privacy", "deletion", "gdpr"),
        "Ask support to delete your account. We confirm by email and erase personal data within 30 days, "
        "keeping only invoices we must retain by law.",
    ),
    Article(
        "change-email",
        "How do I change my email address?",
        ("account", "email"),
        "Sign in, open Account settings and enter the new address. We send a confirmation link to both "
        "the old and the new address.",
    ),
    Article(
        "privacy-data",
        "What data do you keep about me?",
        ("privacy", "data", "gdpr", "account"),
        "We keep your contact details, orders and payment references, never full card numbers. You can "
        "request a copy of your data at any time.",
    ),
    Article(
        "warranty",
        "What warranty do products have?",
        ("warranty", "electronics", "defective"),
        "Electronics carry a 2-year manufacturer warranty. Contact support with your order number and a "
        "description of the fault; we arrange repair or replacement.",
    ),
    Article(
        "price-match",
        "Do you price match?",
        ("price", "discount"),
        "If the price of an item drops within 14 days of your purchase, we refund the difference once. "
        "We do not match prices of other retailers.",
    ),
    Article(
        "discount-codes",
        "My discount code does not work",
        ("discount", "promo", "coupon"),
        "Codes are case sensitive, valid once per customer and cannot be combined. Check the expiry date "
        "in the email that sent the code.",
    ),
    Article(
        "contact-support",
        "How do I contact support?",
        ("support", "contact", "hours"),
        "Chat with us any time. Human agents answer from 8 am to 8 pm ET on weekdays; refund approvals "
        "above 100.00 may take one business day.",
    ),
    Article(
        "subscription-cancel",
        "How do I cancel a subscription?",
        ("subscription", "cancel", "billing"),
        "Open Account settings, then Subscriptions, and choose Cancel. You keep access until the end of "
        "the paid period; we do not refund partial months.",
    ),
)
