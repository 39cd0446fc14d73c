//! The template's table, topic and an alert inbox (an SQS queue subscribed to the topic),
//! created on the local stack.

use crate::template::{
    AttributeDefinition, GlobalSecondaryIndex, KeyElement, Projection, StreamSpecification,
    TableSpec, TimeToLive,
};
use crate::{LocalError, TEMPLATE};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    self as ddb, BillingMode, KeyType, ProjectionType, ScalarAttributeType, StreamViewType,
    TimeToLiveSpecification,
};

/// Handles to the resources of one local stack.
#[derive(Clone, Debug)]
pub struct Stack {
    pub table: String,
    pub topic_arn: String,
    pub queue_url: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Stack {
    /// Creates (or finds) the resources named `<prefix>-monitor`, `<prefix>-alerts`,
    /// `<prefix>-alert-inbox`. Running it twice changes nothing.
    pub async fn create(config: &SdkConfig, prefix: &str) -> Result<Self, LocalError> {
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let sns = aws_sdk_sns::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let table = format!("{prefix}-monitor");
        create_table(
            &dynamodb,
            &table,
            &TableSpec::from_template(TEMPLATE, "MonitorTable")?,
        )
        .await?;

        let topic_arn = sns
            .create_topic()
            .name(format!("{prefix}-alerts"))
            .send()
            .await
            .map_err(LocalError::aws)?
            .topic_arn
            .ok_or_else(|| LocalError::Aws("CreateTopic returned no ARN".into()))?;
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{prefix}-alert-inbox"))
            .send()
            .await
            .map_err(LocalError::aws)?
            .queue_url
            .ok_or_else(|| LocalError::Aws("CreateQueue returned no URL".into()))?;
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(LocalError::aws)?
            .attributes
            .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .ok_or_else(|| LocalError::Aws("queue has no ARN".into()))?;
        // SNS's Subscribe is idempotent for the same endpoint and attributes.
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .map_err(LocalError::aws)?;

        Ok(Self {
            table,
            topic_arn,
            queue_url,
            dynamodb,
            streams: aws_sdk_dynamodbstreams::Client::new(config),
            sns,
            sqs,
        })
    }

    /// The live table, described in the template's terms.
    pub async fn describe_table(&self) -> Result<TableSpec, LocalError> {
        let table = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(LocalError::aws)?
            .table
            .ok_or_else(|| LocalError::Aws("DescribeTable returned no table".into()))?;
        let ttl = self
            .dynamodb
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(LocalError::aws)?
            .time_to_live_description;
        let keys = |schema: &[ddb::KeySchemaElement]| {
            schema
                .iter()
                .map(|k| KeyElement {
                    attribute_name: k.attribute_name().to_owned(),
                    key_type: k.key_type().as_str().to_owned(),
                })
                .collect::<Vec<_>>()
        };
        Ok(TableSpec {
            billing_mode: table
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            attribute_definitions: table
                .attribute_definitions()
                .iter()
                .map(|a| AttributeDefinition {
                    attribute_name: a.attribute_name().to_owned(),
                    attribute_type: a.attribute_type().as_str().to_owned(),
                })
                .collect(),
            key_schema: keys(table.key_schema()),
            global_secondary_indexes: table
                .global_secondary_indexes()
                .iter()
                .map(|g| GlobalSecondaryIndex {
                    index_name: g.index_name().unwrap_or_default().to_owned(),
                    key_schema: keys(g.key_schema()),
                    projection: Projection {
                        projection_type: g
                            .projection()
                            .and_then(|p| p.projection_type())
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_default(),
                    },
                })
                .collect(),
            stream_specification: StreamSpecification {
                stream_view_type: table
                    .stream_specification()
                    .and_then(|s| s.stream_view_type())
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default(),
            },
            time_to_live: TimeToLive {
                attribute_name: ttl
                    .as_ref()
                    .and_then(|t| t.attribute_name())
                    .unwrap_or_default()
                    .to_owned(),
                enabled: ttl
                    .as_ref()
                    .and_then(|t| t.time_to_live_status())
                    .is_some_and(|s| s.as_str() == "ENABLED"),
            },
        })
    }
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> Result<(), LocalError> {
    let exists = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok();
    if !exists {
        let key = |k: &KeyElement| {
            ddb::KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| LocalError::Template(e.to_string()))
        };
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(spec.billing_mode.as_str()))
            .stream_specification(
                ddb::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(
                        spec.stream_specification.stream_view_type.as_str(),
                    ))
                    .build()
                    .map_err(|e| LocalError::Template(e.to_string()))?,
            );
        for a in &spec.attribute_definitions {
            request = request.attribute_definitions(
                ddb::AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(|e| LocalError::Template(e.to_string()))?,
            );
        }
        for k in &spec.key_schema {
            request = request.key_schema(key(k)?);
        }
        for g in &spec.global_secondary_indexes {
            let mut index = ddb::GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .projection(
                    ddb::Projection::builder()
                        .projection_type(ProjectionType::from(
                            g.projection.projection_type.as_str(),
                        ))
                        .build(),
                );
            for k in &g.key_schema {
                index = index.key_schema(key(k)?);
            }
            request = request.global_secondary_indexes(
                index
                    .build()
                    .map_err(|e| LocalError::Template(e.to_string()))?,
            );
        }
        request.send().await.map_err(LocalError::aws)?;
    }
    let ttl_enabled = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(LocalError::aws)?
        .time_to_live_description
        .and_then(|t| t.time_to_live_status)
        .is_some_and(|s| s.as_str() == "ENABLED");
    if ttl_enabled || !spec.time_to_live.enabled {
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&spec.time_to_live.attribute_name)
                .enabled(spec.time_to_live.enabled)
                .build()
                .map_err(|e| LocalError::Template(e.to_string()))?,
        )
        .send()
        .await
        .map_err(LocalError::aws)?;
    Ok(())
}
