//! A Qdrant server over gRPC (qdrant-client), for memory beyond one machine.
//! The collection is created on first use with payload indexes on scope,
//! kind and created_at.

use async_trait::async_trait;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter, GetPointsBuilder, PointId, PointStruct, PointsIdsList, QueryPointsBuilder, Range,
    UpsertPointsBuilder, VectorParamsBuilder, point_id::PointIdOptions,
};
use serde_json::json;

use super::{COLLECTION, IndexFilter, Point, VectorIndex, point_id, record_id};
use crate::memory::MemoryError;

pub struct ServerIndex {
    client: Qdrant,
    dims: usize,
}

fn server_error(e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Index(format!("qdrant server: {e}"))
}

impl ServerIndex {
    /// Connects and makes sure the collection and its payload indexes exist.
    pub async fn connect(url: &str, api_key: Option<String>, dims: usize) -> Result<Self, MemoryError> {
        let client = Qdrant::from_url(url).api_key(api_key).build().map_err(server_error)?;
        let index = Self { client, dims };
        index.ensure_collection().await?;
        Ok(index)
    }

    async fn ensure_collection(&self) -> Result<(), MemoryError> {
        if self.client.collection_exists(COLLECTION).await.map_err(server_error)? {
            return Ok(());
        }
        let create = CreateCollectionBuilder::new(COLLECTION)
            .vectors_config(VectorParamsBuilder::new(self.dims as u64, Distance::Cosine));
        self.client.create_collection(create).await.map_err(server_error)?;
        for (field, kind) in
            [("scope", FieldType::Keyword), ("kind", FieldType::Keyword), ("created_at", FieldType::Integer)]
        {
            let index = CreateFieldIndexCollectionBuilder::new(COLLECTION, field, kind).wait(true);
            self.client.create_field_index(index).await.map_err(server_error)?;
        }
        Ok(())
    }
}

fn filter(f: &IndexFilter) -> Filter {
    let mut must = vec![Condition::matches("scope", f.scopes.clone())];
    if !f.kinds.is_empty() {
        must.push(Condition::matches("kind", f.kinds.clone()));
    }
    if f.since.is_some() || f.until.is_some() {
        let range = Range { gte: f.since.map(|v| v as f64), lt: f.until.map(|v| v as f64), ..Default::default() };
        must.push(Condition::range("created_at", range));
    }
    Filter::must(must)
}

#[async_trait]
impl VectorIndex for ServerIndex {
    fn name(&self) -> &str {
        "server"
    }

    async fn upsert(&self, points: Vec<Point>) -> Result<(), MemoryError> {
        let points = points
            .into_iter()
            .map(|p| {
                let payload = json!({"scope": p.scope, "kind": p.kind, "created_at": p.occurred_at});
                let payload = qdrant_client::Payload::try_from(payload).map_err(server_error)?;
                Ok(PointStruct::new(PointId::from(point_id(&p.id)?.to_string()), p.vector, payload))
            })
            .collect::<Result<Vec<_>, MemoryError>>()?;
        self.client
            .upsert_points(UpsertPointsBuilder::new(COLLECTION, points).wait(true))
            .await
            .map_err(server_error)?;
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<(), MemoryError> {
        let ids =
            ids.iter().map(|id| point_id(id).map(|u| PointId::from(u.to_string()))).collect::<Result<Vec<_>, _>>()?;
        let request = DeletePointsBuilder::new(COLLECTION).points(PointsIdsList { ids }).wait(true);
        self.client.delete_points(request).await.map_err(server_error)?;
        Ok(())
    }

    async fn search(&self, vector: Vec<f32>, f: &IndexFilter, limit: usize) -> Result<Vec<(String, f32)>, MemoryError> {
        if f.scopes.is_empty() || vector.len() != self.dims {
            return Ok(vec![]);
        }
        let request = QueryPointsBuilder::new(COLLECTION).query(vector).filter(filter(f)).limit(limit as u64);
        let found = self.client.query(request).await.map_err(server_error)?;
        Ok(found
            .result
            .into_iter()
            .filter_map(|p| match p.id.and_then(|id| id.point_id_options) {
                Some(PointIdOptions::Uuid(u)) => u.parse().ok().map(|u| (record_id(u), p.score)),
                _ => None,
            })
            .collect())
    }

    async fn count(&self) -> Result<usize, MemoryError> {
        let n = self.client.count(CountPointsBuilder::new(COLLECTION).exact(true)).await.map_err(server_error)?;
        Ok(n.result.map_or(0, |r| r.count as usize))
    }

    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, MemoryError> {
        let points =
            ids.iter().map(|id| point_id(id).map(|u| PointId::from(u.to_string()))).collect::<Result<Vec<_>, _>>()?;
        let request = GetPointsBuilder::new(COLLECTION, points).with_payload(false).with_vectors(false);
        let found = self.client.get_points(request).await.map_err(server_error)?;
        let found: std::collections::HashSet<String> = found
            .result
            .into_iter()
            .filter_map(|p| match p.id.and_then(|id| id.point_id_options) {
                Some(PointIdOptions::Uuid(u)) => u.parse().ok().map(record_id),
                _ => None,
            })
            .collect();
        Ok(ids.iter().filter(|id| !found.contains(id.as_str())).cloned().collect())
    }

    async fn clear(&self) -> Result<(), MemoryError> {
        self.client.delete_collection(COLLECTION).await.map_err(server_error)?;
        self.ensure_collection().await
    }
}
