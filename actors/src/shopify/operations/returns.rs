//! The returns and refunds flow's operations: a return as the flow decides and processes it
//! ([`ReturnRead`]), what Shopify suggests refunding for it ([`ReturnSuggestedOutcome`]), the
//! decisions ([`ReturnApproveRequest`], [`ReturnDeclineRequest`]), `returnProcess`
//! ([`ReturnProcess`], with dispositions and optionally the refund), `refundCreate`
//! ([`RefundCreate`], idempotent by key), a refund as accounting is told it ([`RefundRead`]),
//! and the reconciliation poll of orders' returns and refunds ([`OrdersReturnsSince`]).
//!
//! What the flow relies on is typed strictly (ids, quantities, statuses); what Shopify may omit
//! or send as `null` is an `Option` or an empty list. Amounts stay decimal strings ([`Money`]).
//!
//! Two facts shape the flow around these: `returnProcess` is not idempotent and its payload
//! names no refund (so it is [`Operation::AT_MOST_ONCE`], and a caller whose answer was lost
//! reads the return's processed quantities and refunds before trying again), while
//! `refundCreate` requires an idempotency key and answers a retry with the same key with the
//! refund it made the first time.

use serde::{Deserialize, Serialize};

use super::{Connection, Money, MoneyBag, Operation, Ref, nullable_vec};
use crate::shopify::ShopifyError;
use crate::shopify::error::UserError;
use crate::shopify::gid::{
    CustomerId, FulfillmentId, FulfillmentLineItemId, LineItemId, LocationId, OrderId,
    OrderTransactionId, ProductId, RefundId, ReturnId, ReturnLineItemId, ReverseFulfillmentOrderId,
    ReverseFulfillmentOrderLineItemId,
};

/// Lines of a return read at once (`returnLineItems`, and each reverse fulfillment order's
/// lines); `pageInfo.hasNextPage` says when a return has more.
pub const RETURN_LINES: u32 = 10;
/// An order's fulfillments read with a return, for the dates of its lines.
pub const ORDER_FULFILLMENTS: u32 = 10;
/// Refund lines read per refund; `pageInfo.hasNextPage` says when a refund has more.
pub const REFUND_LINES: u32 = 50;

// ---- enums ----

/// `ReturnStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    Requested,
    Open,
    Declined,
    Closed,
    Canceled,
    /// A status this version does not know.
    #[serde(other)]
    Other,
}

/// `ReturnDeclineReason`. `Other` is Shopify's `OTHER` (and any reason added later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeclineReason {
    FinalSale,
    ReturnPeriodEnded,
    #[serde(other)]
    Other,
}

/// `ReverseFulfillmentOrderDispositionType`: what became of returned units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DispositionType {
    /// Back in stock at a location (`locationId` required).
    Restocked,
    NotRestocked,
    Missing,
    ProcessingRequired,
    /// A type this version does not know: read only, never sent.
    #[serde(other)]
    Unknown,
}

/// `RefundLineItemRestockType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestockType {
    /// Refund the units without touching stock.
    NoRestock,
    /// Units not yet shipped: cancelled and their stock released.
    Cancel,
    /// Units that came back: restocked at `locationId`.
    Return,
    LegacyRestock,
    /// A type this version does not know: read only, never sent.
    #[serde(other)]
    Unknown,
}

/// `OrderTransactionKind` (and `SuggestedOrderTransactionKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionKind {
    Authorization,
    Capture,
    Change,
    EmvAuthorization,
    Refund,
    Sale,
    SuggestedRefund,
    Void,
    /// A kind this version does not know: read only, never sent.
    #[serde(other)]
    Other,
}

/// `OrderTransactionStatus`: a refund's transaction may stay `PENDING` and settle later, or
/// fail (`FAILURE`, `ERROR`) with the gateway's message in its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionStatus {
    Success,
    Pending,
    AwaitingResponse,
    Failure,
    Error,
    Unknown,
    /// A status this version does not know.
    #[serde(other)]
    Other,
}

// ---- ReturnRead ----

pub enum ReturnRead {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnReadVariables {
    pub id: ReturnId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReturnReadResponse {
    /// `None` when Shopify does not know the return.
    #[serde(rename = "return")]
    pub return_: Option<ShopifyReturn>,
}

/// A return as the flow reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyReturn {
    pub id: ReturnId,
    /// `#1001-R1`.
    pub name: String,
    pub status: ReturnStatus,
    pub created_at: String,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub request_approved_at: Option<String>,
    pub total_quantity: u32,
    #[serde(default)]
    pub decline: Option<Decline>,
    pub order: ReturnOrder,
    pub return_line_items: Connection<ReturnLine>,
    /// Empty until the return is approved.
    pub reverse_fulfillment_orders: Connection<ReverseFulfillmentOrder>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub return_shipping_fees: Vec<ReturnShippingFee>,
    pub refunds: Connection<Ref<RefundId>>,
}

impl ShopifyReturn {
    /// The reverse fulfillment order line that stands for a fulfillment line item: what a
    /// `returnProcess` disposition of that line's units names.
    pub fn reverse_line_for(
        &self,
        fulfillment_line_item: &FulfillmentLineItemId,
    ) -> Option<&ReverseFulfillmentOrderLine> {
        self.reverse_fulfillment_orders
            .nodes
            .iter()
            .flat_map(|o| &o.line_items.nodes)
            .find(|l| {
                l.fulfillment_line_item
                    .as_ref()
                    .is_some_and(|f| &f.id == fulfillment_line_item)
            })
    }

    /// The order's fulfillment that shipped a fulfillment line item (its dates bound the
    /// return window).
    pub fn fulfillment_of(
        &self,
        fulfillment_line_item: &FulfillmentLineItemId,
    ) -> Option<&OrderFulfillment> {
        self.order.fulfillments.iter().find(|f| {
            f.fulfillment_line_items
                .nodes
                .iter()
                .any(|l| &l.id == fulfillment_line_item)
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub reason: DeclineReason,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnOrder {
    pub id: OrderId,
    pub name: String,
    pub legacy_resource_id: String,
    pub created_at: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tags: Vec<String>,
    /// `None` for a guest checkout.
    #[serde(default)]
    pub customer: Option<ReturnCustomer>,
    /// The first [`ORDER_FULFILLMENTS`].
    #[serde(default, deserialize_with = "nullable_vec")]
    pub fulfillments: Vec<OrderFulfillment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnCustomer {
    pub id: CustomerId,
    #[serde(default)]
    pub default_email_address: Option<EmailAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    pub email_address: String,
}

/// A fulfillment of the order, with the dates a return window counts from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    pub id: FulfillmentId,
    /// `FulfillmentStatus`: `SUCCESS`, `CANCELLED`, …
    pub status: String,
    pub created_at: String,
    #[serde(default)]
    pub in_transit_at: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    pub fulfillment_line_items: Connection<Ref<FulfillmentLineItemId>>,
}

/// A line of a return (`ReturnLineItemType`). The fields under `... on ReturnLineItem` are
/// `None` for an `UnverifiedReturnLineItem` (one not tied to a fulfillment).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLine {
    pub id: ReturnLineItemId,
    pub quantity: u32,
    pub processable_quantity: u32,
    pub processed_quantity: u32,
    pub unprocessed_quantity: u32,
    pub refundable_quantity: u32,
    pub refunded_quantity: u32,
    #[serde(default)]
    pub customer_note: Option<String>,
    #[serde(default)]
    pub return_reason_note: Option<String>,
    #[serde(default)]
    pub return_reason_definition: Option<ReasonDefinition>,
    /// The units' price after every discount.
    #[serde(default)]
    pub with_code_discounted_total_price_set: Option<MoneyBag>,
    #[serde(default)]
    pub fulfillment_line_item: Option<ReturnedFulfillmentLine>,
}

/// `ReturnReasonDefinition`: `handle` is stable (`defective`, `too-small`, `unwanted`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReasonDefinition {
    pub handle: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnedFulfillmentLine {
    pub id: FulfillmentLineItemId,
    #[serde(default)]
    pub quantity: Option<u32>,
    pub line_item: ReturnedLineItem,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnedLineItem {
    pub id: LineItemId,
    #[serde(default)]
    pub sku: Option<String>,
    pub name: String,
    /// `None` when the product was deleted.
    #[serde(default)]
    pub product: Option<ReturnedProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnedProduct {
    pub id: ProductId,
    #[serde(default)]
    pub product_type: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReverseFulfillmentOrder {
    pub id: ReverseFulfillmentOrderId,
    /// `OPEN`, `CLOSED`, `CANCELED`.
    pub status: String,
    pub line_items: Connection<ReverseFulfillmentOrderLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReverseFulfillmentOrderLine {
    pub id: ReverseFulfillmentOrderLineItemId,
    pub total_quantity: u32,
    #[serde(default)]
    pub fulfillment_line_item: Option<Ref<FulfillmentLineItemId>>,
    /// What was recorded of its units so far.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub dispositions: Vec<Disposition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Disposition {
    #[serde(rename = "type")]
    pub kind: DispositionType,
    pub quantity: u32,
    #[serde(default)]
    pub location: Option<Ref<LocationId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnShippingFee {
    pub amount_set: MoneyBag,
}

impl Operation for ReturnRead {
    const NAME: &'static str = "ReturnRead";
    const DOCUMENT: &'static str = include_str!("return.graphql");
    type Variables = ReturnReadVariables;
    type Response = ReturnReadResponse;

    /// Requested cost 193, as the simulator prices it (Shopify's published rules; a list that
    /// is not a connection, such as `order.fulfillments`, priced like one object): the return
    /// and its decline 2, the order 16 (its customer 2, its fulfillments 13), the lines 2 +
    /// 10 × 7, the reverse fulfillment orders 2 + 2 × (1 + 2 + 10 × 4), the fees 3 and the
    /// refunds 2 + 10.
    fn estimate(_: &ReturnReadVariables) -> f64 {
        193.0
    }
}

// ---- ReturnSuggestedOutcome ----

pub enum ReturnSuggestedOutcome {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedOutcomeVariables {
    pub id: ReturnId,
    pub return_line_items: Vec<ReturnLineQuantity>,
    /// `None`: no shipping refunded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_shipping: Option<RefundShipping>,
}

/// `SuggestedOutcomeReturnLineItemInput` (and `ReturnProcessReturnLineItemInput` without
/// dispositions): units of a return line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnLineQuantity {
    pub id: ReturnLineItemId,
    pub quantity: u32,
}

/// `RefundShippingInput`: all of the refundable shipping, or an amount of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RefundShipping {
    /// `{fullRefund: true}`.
    #[serde(serialize_with = "full_refund")]
    FullRefund,
    /// `{shippingRefundAmount: {amount, currencyCode}}`.
    ShippingRefundAmount(Money),
}

fn full_refund<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(true)
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuggestedOutcomeResponse {
    #[serde(rename = "return")]
    pub return_: Option<ReturnWithOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnWithOutcome {
    pub id: ReturnId,
    #[serde(default)]
    pub suggested_financial_outcome: Option<SuggestedOutcome>,
}

/// `SuggestedReturnFinancialOutcome`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedOutcome {
    pub discounted_subtotal: MoneyBag,
    pub total_cart_discount_amount: MoneyBag,
    pub total_tax: MoneyBag,
    pub total_duties: MoneyBag,
    pub total_additional_fees: MoneyBag,
    pub maximum_refundable: MoneyBag,
    pub shipping: ShippingRefund,
    /// `None` when nothing is owed either way.
    #[serde(default)]
    pub financial_transfer: Option<FinancialTransfer>,
}

impl SuggestedOutcome {
    /// The suggested payments as `returnProcess`'s `issueRefund.orderTransactions` (suggestions
    /// without a parent transaction are left out: Shopify requires one), or `None` when
    /// nothing is to be refunded.
    pub fn refund_transactions(&self) -> Option<Vec<RefundOrderTransaction>> {
        match self.financial_transfer.as_ref()? {
            FinancialTransfer::RefundReturnOutcome {
                suggested_transactions,
                ..
            } => {
                let list: Vec<RefundOrderTransaction> = suggested_transactions
                    .iter()
                    .filter_map(|t| {
                        Some(RefundOrderTransaction {
                            parent_id: t.parent_transaction.as_ref()?.id.clone(),
                            transaction_amount: t.amount_set.shop_money.clone(),
                        })
                    })
                    .collect();
                (!list.is_empty()).then_some(list)
            }
            _ => None,
        }
    }
}

/// `ShippingRefund`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingRefund {
    pub amount_set: MoneyBag,
    pub tax_set: MoneyBag,
    pub maximum_refundable_set: MoneyBag,
}

/// `ReturnOutcomeFinancialTransfer`: money back to the customer, or an invoice (an exchange
/// worth more than what came back).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "__typename")]
pub enum FinancialTransfer {
    #[serde(rename_all = "camelCase")]
    RefundReturnOutcome {
        amount: MoneyBag,
        #[serde(default, deserialize_with = "nullable_vec")]
        suggested_transactions: Vec<SuggestedTransaction>,
    },
    InvoiceReturnOutcome {
        amount: MoneyBag,
    },
    /// A transfer this version does not know.
    #[serde(other)]
    Other,
}

/// `SuggestedOrderTransaction`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedTransaction {
    pub kind: TransactionKind,
    #[serde(default)]
    pub gateway: Option<String>,
    pub amount_set: MoneyBag,
    #[serde(default)]
    pub maximum_refundable_set: Option<MoneyBag>,
    /// The payment to refund through.
    #[serde(default)]
    pub parent_transaction: Option<ParentTransaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ParentTransaction {
    pub id: OrderTransactionId,
    pub kind: TransactionKind,
}

impl Operation for ReturnSuggestedOutcome {
    const NAME: &'static str = "ReturnSuggestedOutcome";
    const DOCUMENT: &'static str = include_str!("return_suggested_outcome.graphql");
    type Variables = SuggestedOutcomeVariables;
    type Response = SuggestedOutcomeResponse;

    /// Requested cost 30: the return, the outcome and its money bags.
    fn estimate(_: &SuggestedOutcomeVariables) -> f64 {
        30.0
    }
}

// ---- returnApproveRequest ----

pub enum ReturnApproveRequest {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApproveVariables {
    pub input: ApproveInput,
}

/// `ReturnApproveRequestInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApproveInput {
    pub id: ReturnId,
    pub notify_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApproveResponse {
    pub return_approve_request: Option<ReturnDecisionPayload>,
}

/// The payload of `returnApproveRequest` and `returnDeclineRequest`: the return (`None` when
/// refused) and `ReturnUserError`s with their codes (`INVALID_STATE` when it is no longer
/// requested, `NOT_FOUND`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnDecisionPayload {
    #[serde(default, rename = "return")]
    pub return_: Option<DecidedReturn>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecidedReturn {
    pub id: ReturnId,
    pub status: ReturnStatus,
    /// Answered by `returnApproveRequest`.
    #[serde(default)]
    pub request_approved_at: Option<String>,
    /// Answered by `returnDeclineRequest`.
    #[serde(default)]
    pub decline: Option<Decline>,
}

impl Operation for ReturnApproveRequest {
    const NAME: &'static str = "ReturnApproveRequest";
    const DOCUMENT: &'static str = include_str!("return_approve_request.graphql");
    type Variables = ApproveVariables;
    type Response = ApproveResponse;

    fn estimate(_: &ApproveVariables) -> f64 {
        10.0
    }
}

// ---- returnDeclineRequest ----

pub enum ReturnDeclineRequest {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclineVariables {
    pub input: DeclineInput,
}

/// `ReturnDeclineRequestInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclineInput {
    pub id: ReturnId,
    pub decline_reason: DeclineReason,
    /// At most 500 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_note: Option<String>,
    pub notify_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeclineResponse {
    pub return_decline_request: Option<ReturnDecisionPayload>,
}

impl Operation for ReturnDeclineRequest {
    const NAME: &'static str = "ReturnDeclineRequest";
    const DOCUMENT: &'static str = include_str!("return_decline_request.graphql");
    type Variables = DeclineVariables;
    type Response = DeclineResponse;

    fn estimate(_: &DeclineVariables) -> f64 {
        10.0
    }
}

// ---- returnProcess ----

pub enum ReturnProcess {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessVariables {
    pub input: ProcessInput,
}

/// `ReturnProcessInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInput {
    pub return_id: ReturnId,
    pub return_line_items: Vec<ProcessLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_shipping: Option<RefundShipping>,
    /// `None`: no money moves (the units are processed, nothing is refunded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub financial_transfer: Option<ProcessFinancialTransfer>,
    pub notify_customer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `ReturnProcessReturnLineItemInput`: units of a return line, and what became of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessLine {
    pub id: ReturnLineItemId,
    pub quantity: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dispositions: Vec<DisposeInput>,
}

/// `ReverseFulfillmentOrderDisposeInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisposeInput {
    /// From [`ShopifyReturn::reverse_line_for`]: it exists once the return is approved.
    pub reverse_fulfillment_order_line_item_id: ReverseFulfillmentOrderLineItemId,
    pub quantity: u32,
    pub disposition_type: DispositionType,
    /// Required for [`DispositionType::Restocked`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
}

/// `ReturnProcessFinancialTransferInput` (a `@oneOf`; only `issueRefund` is used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessFinancialTransfer {
    pub issue_refund: IssueRefund,
}

/// `ReturnProcessRefundInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRefund {
    pub order_transactions: Vec<RefundOrderTransaction>,
}

/// `ReturnRefundOrderTransactionInput`: an amount back through a payment (the suggestion's
/// parent transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrderTransaction {
    pub parent_id: OrderTransactionId,
    pub transaction_amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessResponse {
    pub return_process: Option<ProcessPayload>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessPayload {
    #[serde(default, rename = "return")]
    pub return_: Option<ProcessedReturn>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

/// The return after `returnProcess`: the payload names no refund, so the return's refunds
/// are read here (the one made is the one not there before).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedReturn {
    pub id: ReturnId,
    pub status: ReturnStatus,
    #[serde(default)]
    pub closed_at: Option<String>,
    pub return_line_items: Connection<ProcessedLine>,
    pub refunds: Connection<Ref<RefundId>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessedLine {
    pub id: ReturnLineItemId,
    pub processed_quantity: u32,
    pub unprocessed_quantity: u32,
    pub refunded_quantity: u32,
}

impl Operation for ReturnProcess {
    const NAME: &'static str = "ReturnProcess";
    const DOCUMENT: &'static str = include_str!("return_process.graphql");
    /// Not idempotent: processing the same units twice is refused at best, and with a refund
    /// could refund twice where units remain.
    const AT_MOST_ONCE: bool = true;
    type Variables = ProcessVariables;
    type Response = ProcessResponse;

    fn estimate(_: &ProcessVariables) -> f64 {
        10.0
    }
}

// ---- refundCreate ----

pub enum RefundCreate {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreateVariables {
    pub input: RefundInput,
    /// Derived from the decision, the same for every attempt: a retry with it is answered with
    /// the first refund. Required, never blank.
    pub idempotency_key: String,
}

/// `RefundInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundInput {
    pub order_id: OrderId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub notify: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refund_line_items: Vec<RefundLineInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingRefundInput>,
    /// The money: without transactions a refund moves none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transactions: Vec<TransactionInput>,
}

/// `RefundLineItemInput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineInput {
    pub line_item_id: LineItemId,
    pub quantity: u32,
    pub restock_type: RestockType,
    /// Where [`RestockType::Return`] units go back into stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<LocationId>,
}

/// `ShippingRefundInput`: a decimal amount of the shipping, or all of what is refundable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ShippingRefundInput {
    /// `{amount: "4.00"}`.
    Amount(String),
    /// `{fullRefund: true}`.
    #[serde(serialize_with = "full_refund")]
    FullRefund,
}

/// `OrderTransactionInput`: `kind` is [`TransactionKind::Refund`]; `parent_id` the payment it
/// goes back through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInput {
    pub order_id: OrderId,
    pub gateway: String,
    pub kind: TransactionKind,
    /// A decimal string in the order's currency.
    pub amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<OrderTransactionId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreateResponse {
    pub refund_create: Option<RefundCreatePayload>,
}

/// `UserError`s without codes; a key reused with other input is refused with one whose
/// `field` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreatePayload {
    #[serde(default)]
    pub refund: Option<ShopifyRefund>,
    #[serde(default)]
    pub order: Option<RefundedOrder>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundedOrder {
    pub id: OrderId,
    /// `OrderDisplayFinancialStatus`: `PARTIALLY_REFUNDED`, `REFUNDED`, …
    #[serde(default)]
    pub display_financial_status: Option<String>,
}

impl Operation for RefundCreate {
    const NAME: &'static str = "RefundCreate";
    const DOCUMENT: &'static str = concat!(
        include_str!("refund_create.graphql"),
        "\n",
        include_str!("refund_fields.graphql")
    );
    type Variables = RefundCreateVariables;
    type Response = RefundCreateResponse;

    fn estimate(_: &RefundCreateVariables) -> f64 {
        10.0
    }
}

// ---- RefundRead ----

pub enum RefundRead {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundReadVariables {
    pub id: RefundId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundReadResponse {
    /// `None` when Shopify does not know the refund.
    pub refund: Option<ShopifyRefund>,
}

/// A refund as accounting is told it (`refund_fields.graphql`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyRefund {
    pub id: RefundId,
    pub legacy_resource_id: String,
    #[serde(default)]
    pub created_at: Option<String>,
    pub processed_at: String,
    #[serde(default)]
    pub note: Option<String>,
    /// What its successful transactions gave back.
    pub total_refunded_set: MoneyBag,
    pub order: RefundOrder,
    /// `None` for a refund without a return.
    #[serde(default, rename = "return")]
    pub return_: Option<Ref<ReturnId>>,
    pub refund_line_items: Connection<RefundLine>,
    pub refund_shipping_lines: Connection<RefundShippingLine>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub duties: Vec<RefundDuty>,
    pub transactions: Connection<RefundTransaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrder {
    pub id: OrderId,
    pub name: String,
    pub legacy_resource_id: String,
    pub currency_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLine {
    pub quantity: u32,
    pub restock_type: RestockType,
    pub restocked: bool,
    #[serde(default)]
    pub location: Option<Ref<LocationId>>,
    pub line_item: RefundedLineItem,
    pub subtotal_set: MoneyBag,
    pub total_tax_set: MoneyBag,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundedLineItem {
    pub id: LineItemId,
    #[serde(default)]
    pub sku: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundShippingLine {
    pub subtotal_amount_set: MoneyBag,
    pub tax_amount_set: MoneyBag,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundDuty {
    pub amount_set: MoneyBag,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundTransaction {
    pub id: OrderTransactionId,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    #[serde(default)]
    pub gateway: Option<String>,
    /// `OrderTransactionErrorCode` when it failed (`GENERIC_ERROR`, `CARD_DECLINED`, …).
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub processed_at: Option<String>,
    /// The gateway's receipt: a JSON value, which Shopify sends as a string of JSON.
    #[serde(default)]
    pub receipt_json: Option<serde_json::Value>,
    pub amount_set: MoneyBag,
    #[serde(default)]
    pub parent_transaction: Option<Ref<OrderTransactionId>>,
}

impl RefundTransaction {
    /// The gateway's message from the receipt (`message`, or `error.message`), if it has one.
    pub fn receipt_message(&self) -> Option<String> {
        let receipt = match self.receipt_json.as_ref()? {
            serde_json::Value::String(s) => serde_json::from_str(s).ok()?,
            other => other.clone(),
        };
        [&receipt["message"], &receipt["error"]["message"]]
            .into_iter()
            .find_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
    }
}

impl Operation for RefundRead {
    const NAME: &'static str = "RefundRead";
    const DOCUMENT: &'static str = concat!(
        include_str!("refund.graphql"),
        "\n",
        include_str!("refund_fields.graphql")
    );
    type Variables = RefundReadVariables;
    type Response = RefundReadResponse;

    /// Requested cost 440, most of it the 50 lines (2 + 50 × 7) and 10 transactions
    /// (2 + 10 × 5).
    fn estimate(_: &RefundReadVariables) -> f64 {
        440.0
    }
}

// ---- OrdersReturnsSince ----

pub enum OrdersReturnsSince {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrdersReturnsSinceVariables {
    pub first: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// `updated_at:>'…'`: see [`OrdersReturnsSinceVariables::since`].
    pub query: String,
}

impl OrdersReturnsSinceVariables {
    /// A page of `first` orders updated after `since` (RFC 3339), after the cursor `after`.
    pub fn since(
        since: &str,
        first: u32,
        after: Option<String>,
    ) -> Result<OrdersReturnsSinceVariables, ShopifyError> {
        Ok(OrdersReturnsSinceVariables {
            first: first.clamp(1, 250),
            after,
            query: super::orders::updated_since_query(since)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrdersReturnsSinceResponse {
    pub orders: Connection<OrderReturns>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderReturns {
    pub id: OrderId,
    pub name: String,
    pub updated_at: String,
    /// `OrderReturnStatus`: `NO_RETURN`, `RETURN_REQUESTED`, `IN_PROGRESS`, `RETURNED`, …
    #[serde(default)]
    pub return_status: Option<String>,
    /// The newest five; `page_info.has_next_page` says when there are more.
    pub returns: Connection<ReturnSummary>,
    /// The first ten.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub refunds: Vec<RefundSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReturnSummary {
    pub id: ReturnId,
    pub status: ReturnStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundSummary {
    pub id: RefundId,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Operation for OrdersReturnsSince {
    const NAME: &'static str = "OrdersReturnsSince";
    const DOCUMENT: &'static str = include_str!("orders_returns_since.graphql");
    type Variables = OrdersReturnsSinceVariables;
    type Response = OrdersReturnsSinceResponse;

    /// Requested cost 2 + 9 per order (itself 1, its returns 2 + 5, its refunds 1 as the
    /// simulator prices a list): 92 for 10 orders, 452 for 50.
    fn estimate(v: &OrdersReturnsSinceVariables) -> f64 {
        2.0 + f64::from(v.first) * 9.0
    }

    fn cost_key(v: &OrdersReturnsSinceVariables) -> String {
        format!("OrdersReturnsSince/{}", v.first)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn inputs_serialize_as_shopify_names_them() {
        let v = ProcessVariables {
            input: ProcessInput {
                return_id: ReturnId::new(1),
                return_line_items: vec![
                    ProcessLine {
                        id: ReturnLineItemId::new(2),
                        quantity: 2,
                        dispositions: vec![DisposeInput {
                            reverse_fulfillment_order_line_item_id:
                                ReverseFulfillmentOrderLineItemId::new(3),
                            quantity: 2,
                            disposition_type: DispositionType::Restocked,
                            location_id: Some(LocationId::new(4)),
                        }],
                    },
                    ProcessLine {
                        id: ReturnLineItemId::new(5),
                        quantity: 1,
                        dispositions: vec![],
                    },
                ],
                refund_shipping: Some(RefundShipping::FullRefund),
                financial_transfer: Some(ProcessFinancialTransfer {
                    issue_refund: IssueRefund {
                        order_transactions: vec![RefundOrderTransaction {
                            parent_id: OrderTransactionId::new(6),
                            transaction_amount: Money {
                                amount: "12.50".into(),
                                currency_code: "USD".into(),
                            },
                        }],
                    },
                }),
                notify_customer: true,
                note: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!({"input": {"returnId": "gid://shopify/Return/1",
                "returnLineItems": [
                    {"id": "gid://shopify/ReturnLineItem/2", "quantity": 2, "dispositions": [{
                        "reverseFulfillmentOrderLineItemId": "gid://shopify/ReverseFulfillmentOrderLineItem/3",
                        "quantity": 2, "dispositionType": "RESTOCKED",
                        "locationId": "gid://shopify/Location/4"}]},
                    {"id": "gid://shopify/ReturnLineItem/5", "quantity": 1}],
                "refundShipping": {"fullRefund": true},
                "financialTransfer": {"issueRefund": {"orderTransactions": [{
                    "parentId": "gid://shopify/OrderTransaction/6",
                    "transactionAmount": {"amount": "12.50", "currencyCode": "USD"}}]}},
                "notifyCustomer": true}})
        );
        let amount = RefundShipping::ShippingRefundAmount(Money {
            amount: "4.00".into(),
            currency_code: "USD".into(),
        });
        assert_eq!(
            serde_json::to_value(amount).unwrap(),
            json!({"shippingRefundAmount": {"amount": "4.00", "currencyCode": "USD"}})
        );
        let refund = RefundCreateVariables {
            input: RefundInput {
                order_id: OrderId::new(7),
                note: Some("Damaged".into()),
                notify: false,
                refund_line_items: vec![RefundLineInput {
                    line_item_id: LineItemId::new(8),
                    quantity: 1,
                    restock_type: RestockType::NoRestock,
                    location_id: None,
                }],
                shipping: Some(ShippingRefundInput::Amount("4.00".into())),
                transactions: vec![TransactionInput {
                    order_id: OrderId::new(7),
                    gateway: "shopify_payments".into(),
                    kind: TransactionKind::Refund,
                    amount: "10.00".into(),
                    parent_id: None,
                }],
            },
            idempotency_key: "k".into(),
        };
        assert_eq!(
            serde_json::to_value(&refund).unwrap(),
            json!({"idempotencyKey": "k", "input": {"orderId": "gid://shopify/Order/7",
                "note": "Damaged", "notify": false,
                "refundLineItems": [{"lineItemId": "gid://shopify/LineItem/8", "quantity": 1,
                    "restockType": "NO_RESTOCK"}],
                "shipping": {"amount": "4.00"},
                "transactions": [{"orderId": "gid://shopify/Order/7", "gateway": "shopify_payments",
                    "kind": "REFUND", "amount": "10.00"}]}})
        );
        assert_eq!(
            serde_json::to_value(ShippingRefundInput::FullRefund).unwrap(),
            json!({"fullRefund": true})
        );
        let decline = DeclineVariables {
            input: DeclineInput {
                id: ReturnId::new(1),
                decline_reason: DeclineReason::ReturnPeriodEnded,
                decline_note: Some("Too late".into()),
                notify_customer: false,
            },
        };
        assert_eq!(
            serde_json::to_value(&decline).unwrap(),
            json!({"input": {"id": "gid://shopify/Return/1", "declineReason": "RETURN_PERIOD_ENDED",
                "declineNote": "Too late", "notifyCustomer": false}})
        );
    }

    #[test]
    fn unknown_enum_values_and_nulls_are_tolerated() {
        let r: ReturnSummary =
            serde_json::from_value(json!({"id": "gid://shopify/Return/1", "status": "ARCHIVED"}))
                .unwrap();
        assert_eq!(r.status, ReturnStatus::Other);
        let d: Decline = serde_json::from_value(json!({"reason": "OTHER", "note": null})).unwrap();
        assert_eq!(d.reason, DeclineReason::Other);
        let t: FinancialTransfer =
            serde_json::from_value(json!({"__typename": "StoreCredit"})).unwrap();
        assert_eq!(t, FinancialTransfer::Other);
        let o: OrderReturns = serde_json::from_value(json!({"id": "gid://shopify/Order/1",
            "name": "#1", "updatedAt": "2026-01-01T00:00:00Z", "returnStatus": null,
            "returns": {"nodes": []}, "refunds": null}))
        .unwrap();
        assert!(o.refunds.is_empty());
    }

    #[test]
    fn a_receipt_message_is_found_in_a_string_of_json_or_an_object() {
        let mut t: RefundTransaction = serde_json::from_value(json!({
            "id": "gid://shopify/OrderTransaction/1", "kind": "REFUND", "status": "FAILURE",
            "gateway": "shopify_payments", "errorCode": "GENERIC_ERROR", "processedAt": null,
            "receiptJson": "{\"message\":\"Declined by the bank\"}",
            "amountSet": {"shopMoney": {"amount": "1.0", "currencyCode": "USD"}},
            "parentTransaction": null}))
        .unwrap();
        assert_eq!(t.receipt_message().as_deref(), Some("Declined by the bank"));
        t.receipt_json = Some(json!({"error": {"message": "Expired card"}}));
        assert_eq!(t.receipt_message().as_deref(), Some("Expired card"));
        t.receipt_json = Some(json!("{}"));
        assert_eq!(t.receipt_message(), None);
    }
}
