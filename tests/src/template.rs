//! Reads the table's definition out of `template.yaml`, so the local table is the one
//! that gets deployed.

use crate::LocalError;
use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_view_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

/// The parts of `AWS::DynamoDB::Table` that code depends on.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub stream_specification: StreamSpecification,
    #[serde(rename = "TimeToLiveSpecification")]
    pub time_to_live: TimeToLive,
}

impl TableSpec {
    /// The properties of the resource `logical_id` in a SAM/CloudFormation template.
    pub fn from_template(template: &str, logical_id: &str) -> Result<Self, LocalError> {
        let doc: serde_norway::Value =
            serde_norway::from_str(template).map_err(|e| LocalError::Template(e.to_string()))?;
        let properties = doc
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| LocalError::Template(format!("no Resources.{logical_id}.Properties")))?;
        serde_norway::from_value(properties.clone())
            .map_err(|e| LocalError::Template(format!("{logical_id}: {e}")))
    }

    /// Order-independent form, for comparing with what DynamoDB describes.
    pub fn normalized(mut self) -> Self {
        self.attribute_definitions
            .sort_by(|a, b| a.attribute_name.cmp(&b.attribute_name));
        self.global_secondary_indexes
            .sort_by(|a, b| a.index_name.cmp(&b.index_name));
        self
    }
}

#[cfg(test)]
#[path = "template_test.rs"]
mod tests;
