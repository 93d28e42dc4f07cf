//! The products flow's operations: `productSet` (and `productOperation` to follow it when it
//! runs asynchronously), the lookup of a product the flow has no record of, the variants of a
//! product past the first page, and the reads of what Shopify owns (by id, changed since).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::customers::CustomId;
use super::{Connection, Operation, nullable_vec};
use crate::shopify::error::UserError;
use crate::shopify::gid::{ProductId, ProductVariantId};

/// Products per `nodes` read: each asks for up to ~55 points of merchandising, so 16 stay
/// under Shopify's 1,000-point ceiling for one query.
pub const MAX_IDS: usize = 16;

/// What Shopify owns of a product (`ProductOwned`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedProduct {
    pub id: ProductId,
    pub handle: String,
    pub title: String,
    pub updated_at: String,
    /// `ACTIVE`, `ARCHIVED`, `DRAFT`, `UNLISTED`.
    pub status: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub seo: Option<Seo>,
    #[serde(default)]
    pub metafields: Option<Connection<ProductMetafield>>,
    #[serde(default)]
    pub collections: Option<Connection<CollectionRef>>,
    #[serde(default)]
    pub resource_publications: Option<Connection<ResourcePublication>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seo {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductMetafield {
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionRef {
    pub handle: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePublication {
    pub is_published: bool,
    pub publication: PublicationName,
}

/// A publication, named by its catalog's title (`Publication.name` is deprecated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationName {
    #[serde(default)]
    pub catalog: Option<CatalogTitle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTitle {
    pub title: String,
}

/// A product as a write left it (`ProductWritten`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrittenProduct {
    #[serde(flatten)]
    pub owned: OwnedProduct,
    pub variants: Connection<VariantIds>,
    #[serde(default)]
    pub media: Option<Connection<Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantIds {
    pub id: ProductVariantId,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub selected_options: Vec<SelectedOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SelectedOption {
    pub name: String,
    pub value: String,
}

/// One media of a written product: only images are ever written, so other kinds (read as
/// empty objects) are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaImage {
    pub id: String,
    /// `UPLOADED`, `PROCESSING`, `READY`, `FAILED`.
    pub status: String,
    #[serde(default)]
    pub original_source: Option<OriginalSource>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub media_errors: Vec<MediaError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OriginalSource {
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MediaError {
    pub code: String,
    pub message: String,
}

impl WrittenProduct {
    /// The product's images; media of other kinds are left out.
    pub fn images(&self) -> Vec<MediaImage> {
        self.media
            .iter()
            .flat_map(|c| &c.nodes)
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }
}

// ---- productSet ----

/// `ProductSetIdentifiers`: exactly one of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SetIdentifier {
    Id(ProductId),
    Handle(String),
    CustomId(CustomId),
}

/// `ProductIdentifierInput`, the lookup's twin of [`SetIdentifier`].
pub type LookupIdentifier = SetIdentifier;

/// `ProductSetInput`, with the fields the flow writes; unset ones are left out (and left as
/// they are in Shopify). List fields, once given, replace what Shopify has.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSetInput {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seo: Option<Seo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub product_options: Vec<OptionSetInput>,
    pub variants: Vec<VariantSetInput>,
    pub files: Vec<FileSetInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metafields: Option<Vec<MetafieldSetInput>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionSetInput {
    pub name: String,
    pub values: Vec<Named>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantSetInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub option_values: Vec<OptionValueInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    pub price: String,
    /// `null` clears a compare-at price.
    pub compare_at_price: Option<String>,
    /// `DENY` or `CONTINUE`.
    pub inventory_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_item: Option<InventoryItemInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionValueInput {
    pub option_name: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InventoryItemInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurement: Option<Measurement>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub weight: Weight,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weight {
    pub value: f64,
    /// `GRAMS`, `KILOGRAMS`, `OUNCES`, `POUNDS`.
    pub unit: String,
}

/// `FileSetInput`: an existing media kept by id, or a new one fetched from a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSetInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// `MetafieldInput` inside a productSet (the owner is the product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetafieldSetInput {
    pub namespace: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetVariables {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<SetIdentifier>,
    pub input: ProductSetInput,
    pub synchronous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetPayload {
    #[serde(default)]
    pub product: Option<WrittenProduct>,
    #[serde(default)]
    pub product_set_operation: Option<OperationRef>,
    #[serde(deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OperationRef {
    pub id: String,
    /// `CREATED`, `ACTIVE`, `COMPLETE`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SetResponse {
    #[serde(rename = "productSet")]
    pub payload: Option<SetPayload>,
}

pub enum ProductSet {}

impl Operation for ProductSet {
    const NAME: &'static str = "ProductSet";
    const DOCUMENT: &'static str = concat!(
        include_str!("product_set.graphql"),
        "\n",
        include_str!("product_written.graphql"),
        "\n",
        include_str!("product_owned.graphql")
    );
    type Variables = SetVariables;
    type Response = SetResponse;

    /// A mutation's 10, plus what the schema prices per variant, file and metafield.
    fn estimate(v: &SetVariables) -> f64 {
        let i = &v.input;
        10.0 + 0.2 * i.variants.len() as f64
            + 1.9 * i.files.len() as f64
            + 0.4 * i.metafields.as_ref().map_or(0, Vec::len) as f64
    }

    /// Inputs of one estimated cost learn apart: a cost learned from a product without images
    /// would underestimate the next one with three, and at the bucket's floor every point
    /// underestimated is a THROTTLED answer.
    fn cost_key(v: &SetVariables) -> String {
        format!("ProductSet/{}", Self::estimate(v).ceil())
    }
}

// ---- productOperation ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationVariables {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationResponse {
    pub product_operation: Option<SetOperation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetOperation {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub product: Option<WrittenProduct>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_errors: Vec<UserError>,
}

pub enum ProductOperation {}

impl Operation for ProductOperation {
    const NAME: &'static str = "ProductOperation";
    const DOCUMENT: &'static str = concat!(
        include_str!("product_operation.graphql"),
        "\n",
        include_str!("product_written.graphql"),
        "\n",
        include_str!("product_owned.graphql")
    );
    type Variables = OperationVariables;
    type Response = OperationResponse;

    fn estimate(_: &OperationVariables) -> f64 {
        WRITTEN_COST
    }
}

/// What reading a `ProductWritten` may cost: 250 variant ids, 50 media, the merchandising.
const WRITTEN_COST: f64 = 710.0;

// ---- productByIdentifier, then the product found ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookupVariables {
    pub identifier: LookupIdentifier,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupResponse {
    pub product_by_identifier: Option<super::Ref<ProductId>>,
}

pub enum ProductByIdentifier {}

impl Operation for ProductByIdentifier {
    const NAME: &'static str = "ProductByIdentifier";
    const DOCUMENT: &'static str = include_str!("product_by_identifier.graphql");
    type Variables = LookupVariables;
    type Response = LookupResponse;

    fn estimate(_: &LookupVariables) -> f64 {
        1.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdVariables {
    pub id: ProductId,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WrittenByIdResponse {
    pub product: Option<WrittenProduct>,
}

pub enum ProductWrittenById {}

impl Operation for ProductWrittenById {
    const NAME: &'static str = "ProductWrittenById";
    const DOCUMENT: &'static str = concat!(
        include_str!("product_written_by_id.graphql"),
        "\n",
        include_str!("product_written.graphql"),
        "\n",
        include_str!("product_owned.graphql")
    );
    type Variables = IdVariables;
    type Response = WrittenByIdResponse;

    fn estimate(_: &IdVariables) -> f64 {
        WRITTEN_COST
    }
}

// ---- products by handle ----

/// Handles per `ProductsByHandle` search: the query string stays short.
pub const MAX_HANDLES: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlesVariables {
    pub first: u32,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HandlesResponse {
    pub products: Connection<ProductHandle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProductHandle {
    pub id: ProductId,
    pub handle: String,
}

pub enum ProductsByHandle {}

impl Operation for ProductsByHandle {
    const NAME: &'static str = "ProductsByHandle";
    const DOCUMENT: &'static str = include_str!("products_by_handle.graphql");
    type Variables = HandlesVariables;
    type Response = HandlesResponse;

    fn estimate(v: &HandlesVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &HandlesVariables) -> String {
        format!("ProductsByHandle/{}", v.first)
    }
}

// ---- the variants past the first page ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantPageVariables {
    pub id: ProductId,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VariantPageResponse {
    pub product: Option<VariantPage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VariantPage {
    pub variants: Connection<VariantIds>,
}

pub enum ProductVariantIds {}

impl Operation for ProductVariantIds {
    const NAME: &'static str = "ProductVariantIds";
    const DOCUMENT: &'static str = include_str!("product_variant_ids.graphql");
    type Variables = VariantPageVariables;
    type Response = VariantPageResponse;

    fn estimate(_: &VariantPageVariables) -> f64 {
        503.0
    }
}

// ---- reads of what Shopify owns ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdsVariables {
    pub ids: Vec<ProductId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ByIdResponse {
    /// One per id asked, in order: `None` for a product that no longer exists.
    #[serde(deserialize_with = "super::objects_or_none")]
    pub nodes: Vec<Option<OwnedProduct>>,
}

pub enum ProductsById {}

impl Operation for ProductsById {
    const NAME: &'static str = "ProductsById";
    const DOCUMENT: &'static str = concat!(
        include_str!("products_by_id.graphql"),
        "\n",
        include_str!("product_owned.graphql")
    );
    type Variables = IdsVariables;
    type Response = ByIdResponse;

    fn estimate(v: &IdsVariables) -> f64 {
        v.ids.len() as f64 * 56.0
    }

    fn cost_key(v: &IdsVariables) -> String {
        format!("ProductsById/{}", v.ids.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionsVariables {
    pub first: u32,
    pub after: Option<String>,
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionsResponse {
    pub products: Connection<ProductVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVersion {
    pub id: ProductId,
    pub updated_at: String,
}

pub enum ProductVersions {}

impl Operation for ProductVersions {
    const NAME: &'static str = "ProductVersions";
    const DOCUMENT: &'static str = include_str!("product_versions.graphql");
    type Variables = VersionsVariables;
    type Response = VersionsResponse;

    fn estimate(v: &VersionsVariables) -> f64 {
        2.0 + f64::from(v.first)
    }

    fn cost_key(v: &VersionsVariables) -> String {
        format!("ProductVersions/{}", v.first)
    }
}
