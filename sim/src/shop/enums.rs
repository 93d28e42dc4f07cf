//! The GraphQL enums the shop stores, each with its REST spelling.

/// A GraphQL enum the shop stores, with its REST spelling (lower case).
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $gql:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The GraphQL enum value.
            pub fn as_graphql(self) -> &'static str {
                match self { $($name::$variant => $gql),+ }
            }

            /// The REST / webhook spelling: the GraphQL value in lower case.
            pub fn as_rest(self) -> String {
                self.as_graphql().to_ascii_lowercase()
            }

            pub fn from_graphql(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_graphql() == text)
            }
        }
    };
}

api_enum!(
    /// `OrderDisplayFinancialStatus`.
    FinancialStatus {
        Pending => "PENDING",
        Authorized => "AUTHORIZED",
        PartiallyPaid => "PARTIALLY_PAID",
        Paid => "PAID",
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        Refunded => "REFUNDED",
        Voided => "VOIDED",
        Expired => "EXPIRED",
    }
);

api_enum!(
    /// `OrderDisplayFulfillmentStatus`.
    FulfillmentStatus {
        Unfulfilled => "UNFULFILLED",
        PartiallyFulfilled => "PARTIALLY_FULFILLED",
        Fulfilled => "FULFILLED",
        InProgress => "IN_PROGRESS",
        OnHold => "ON_HOLD",
        Open => "OPEN",
        PendingFulfillment => "PENDING_FULFILLMENT",
        Restocked => "RESTOCKED",
        Scheduled => "SCHEDULED",
        RequestDeclined => "REQUEST_DECLINED",
        FulfillmentNotRequired => "FULFILLMENT_NOT_REQUIRED",
    }
);

impl FulfillmentStatus {
    /// REST `fulfillment_status`: `null`, `"partial"`, `"fulfilled"` or `"restocked"`.
    pub fn as_rest_order_status(self) -> Option<&'static str> {
        match self {
            FulfillmentStatus::Fulfilled => Some("fulfilled"),
            FulfillmentStatus::PartiallyFulfilled => Some("partial"),
            FulfillmentStatus::Restocked => Some("restocked"),
            _ => None,
        }
    }
}

api_enum!(
    /// `OrderCancelReason`.
    CancelReason {
        Customer => "CUSTOMER",
        Declined => "DECLINED",
        Fraud => "FRAUD",
        Inventory => "INVENTORY",
        Staff => "STAFF",
        Other => "OTHER",
    }
);

api_enum!(
    /// `RiskAssessmentResult`.
    RiskLevel {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        None => "NONE",
        Pending => "PENDING",
    }
);

api_enum!(
    /// `OrderRiskRecommendationResult`.
    RiskRecommendation {
        Accept => "ACCEPT",
        Investigate => "INVESTIGATE",
        Cancel => "CANCEL",
        None => "NONE",
    }
);

api_enum!(
    /// `RiskFactSentiment`.
    Sentiment {
        Positive => "POSITIVE",
        Neutral => "NEUTRAL",
        Negative => "NEGATIVE",
    }
);

api_enum!(
    /// `ReturnStatus`.
    ReturnStatus {
        Requested => "REQUESTED",
        Open => "OPEN",
        Closed => "CLOSED",
        Declined => "DECLINED",
        Canceled => "CANCELED",
    }
);

api_enum!(
    /// `ReturnReason`: why a customer returns a line (deprecated on inputs in favour of
    /// reason definitions, still what `ReturnLineItem.returnReason` answers).
    ReturnReason {
        Color => "COLOR",
        Defective => "DEFECTIVE",
        NotAsDescribed => "NOT_AS_DESCRIBED",
        Other => "OTHER",
        SizeTooLarge => "SIZE_TOO_LARGE",
        SizeTooSmall => "SIZE_TOO_SMALL",
        Style => "STYLE",
        Unknown => "UNKNOWN",
        Unwanted => "UNWANTED",
        WrongItem => "WRONG_ITEM",
    }
);

api_enum!(
    /// `ReturnDeclineReason`.
    ReturnDeclineReason {
        FinalSale => "FINAL_SALE",
        Other => "OTHER",
        ReturnPeriodEnded => "RETURN_PERIOD_ENDED",
    }
);

api_enum!(
    /// `ReverseFulfillmentOrderDispositionType`: what became of a returned unit.
    DispositionType {
        Missing => "MISSING",
        NotRestocked => "NOT_RESTOCKED",
        ProcessingRequired => "PROCESSING_REQUIRED",
        Restocked => "RESTOCKED",
    }
);

api_enum!(
    /// `OrderTransactionKind`.
    TransactionKind {
        Authorization => "AUTHORIZATION",
        Capture => "CAPTURE",
        Change => "CHANGE",
        EmvAuthorization => "EMV_AUTHORIZATION",
        Refund => "REFUND",
        Sale => "SALE",
        SuggestedRefund => "SUGGESTED_REFUND",
        Void => "VOID",
    }
);

impl TransactionKind {
    /// Money taken from the customer, which a refund may go back through (a refund's
    /// parent must be one: `ReturnRefundOrderTransactionInput.parentId`).
    pub fn is_payment(self) -> bool {
        matches!(self, TransactionKind::Sale | TransactionKind::Capture)
    }
}

api_enum!(
    /// `OrderTransactionStatus`.
    TransactionStatus {
        AwaitingResponse => "AWAITING_RESPONSE",
        Error => "ERROR",
        Failure => "FAILURE",
        Pending => "PENDING",
        Success => "SUCCESS",
        Unknown => "UNKNOWN",
    }
);

api_enum!(
    /// `RefundLineItemRestockType`.
    RestockType {
        NoRestock => "NO_RESTOCK",
        Cancel => "CANCEL",
        Return => "RETURN",
        LegacyRestock => "LEGACY_RESTOCK",
    }
);

api_enum!(
    /// `FulfillmentStatus` (of one fulfillment, not the order's display status).
    FulfillmentState {
        Success => "SUCCESS",
        Pending => "PENDING",
        Open => "OPEN",
        Cancelled => "CANCELLED",
        Error => "ERROR",
        Failure => "FAILURE",
    }
);

api_enum!(
    /// `FulfillmentOrderStatus`: where a fulfillment order is in its life. The simulator uses
    /// `OPEN`, `IN_PROGRESS` (partly fulfilled), `ON_HOLD`, `CLOSED` and `CANCELLED`.
    FulfillmentOrderStatus {
        Open => "OPEN",
        InProgress => "IN_PROGRESS",
        OnHold => "ON_HOLD",
        Scheduled => "SCHEDULED",
        Incomplete => "INCOMPLETE",
        Closed => "CLOSED",
        Cancelled => "CANCELLED",
    }
);

impl FulfillmentOrderStatus {
    /// Whether `fulfillmentCreate` may ship from a fulfillment order in this status.
    pub fn is_fulfillable(self) -> bool {
        matches!(
            self,
            FulfillmentOrderStatus::Open | FulfillmentOrderStatus::InProgress
        )
    }

    /// Closed and cancelled fulfillment orders are done: nothing happens to them any more.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            FulfillmentOrderStatus::Closed | FulfillmentOrderStatus::Cancelled
        )
    }
}

api_enum!(
    /// `FulfillmentEventStatus`: a carrier's report on a shipment. Its REST spelling is the
    /// fulfillment's `shipment_status`.
    FulfillmentEventStatus {
        AttemptedDelivery => "ATTEMPTED_DELIVERY",
        CarrierPickedUp => "CARRIER_PICKED_UP",
        Confirmed => "CONFIRMED",
        Delayed => "DELAYED",
        Delivered => "DELIVERED",
        Failure => "FAILURE",
        InTransit => "IN_TRANSIT",
        LabelPrinted => "LABEL_PRINTED",
        LabelPurchased => "LABEL_PURCHASED",
        OutForDelivery => "OUT_FOR_DELIVERY",
        ReadyForPickup => "READY_FOR_PICKUP",
    }
);

api_enum!(
    /// `FulfillmentHoldReason`.
    FulfillmentHoldReason {
        AwaitingPayment => "AWAITING_PAYMENT",
        AwaitingReturnItems => "AWAITING_RETURN_ITEMS",
        HighRiskOfFraud => "HIGH_RISK_OF_FRAUD",
        IncorrectAddress => "INCORRECT_ADDRESS",
        InventoryOutOfStock => "INVENTORY_OUT_OF_STOCK",
        OnlineStorePostPurchaseCrossSell => "ONLINE_STORE_POST_PURCHASE_CROSS_SELL",
        Other => "OTHER",
        UnknownDeliveryDate => "UNKNOWN_DELIVERY_DATE",
    }
);

impl FulfillmentHoldReason {
    /// `FulfillmentHold.displayReason`: the reason as the admin shows it ("Incorrect address").
    pub fn display(self) -> String {
        let lower = self.as_rest().replace('_', " ");
        let mut chars = lower.chars();
        match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => lower,
        }
    }
}

api_enum!(
    /// `CustomerState`.
    CustomerState {
        Disabled => "DISABLED",
        Invited => "INVITED",
        Enabled => "ENABLED",
        Declined => "DECLINED",
    }
);

api_enum!(
    /// `ProductStatus`.
    ProductStatus {
        Active => "ACTIVE",
        Archived => "ARCHIVED",
        Draft => "DRAFT",
        Unlisted => "UNLISTED",
    }
);

api_enum!(
    /// A marketing consent's state: `CustomerEmailMarketingState` for email,
    /// `CustomerSmsMarketingState` for SMS (which has no `INVALID`).
    MarketingState {
        NotSubscribed => "NOT_SUBSCRIBED",
        Pending => "PENDING",
        Subscribed => "SUBSCRIBED",
        Unsubscribed => "UNSUBSCRIBED",
        Redacted => "REDACTED",
        Invalid => "INVALID",
    }
);

api_enum!(
    /// `CustomerMarketingOptInLevel`.
    MarketingOptInLevel {
        SingleOptIn => "SINGLE_OPT_IN",
        ConfirmedOptIn => "CONFIRMED_OPT_IN",
        Unknown => "UNKNOWN",
    }
);

api_enum!(
    /// `CustomerConsentCollectedFrom`.
    ConsentCollectedFrom {
        Shopify => "SHOPIFY",
        Other => "OTHER",
    }
);

api_enum!(
    /// `WeightUnit`.
    WeightUnit {
        Grams => "GRAMS",
        Kilograms => "KILOGRAMS",
        Ounces => "OUNCES",
        Pounds => "POUNDS",
    }
);

api_enum!(
    /// `MediaStatus`.
    MediaStatus {
        Uploaded => "UPLOADED",
        Processing => "PROCESSING",
        Ready => "READY",
        Failed => "FAILED",
    }
);
