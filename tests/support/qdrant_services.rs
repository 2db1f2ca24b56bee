//! The stand-in's gRPC services: Qdrant's health check, collections and
//! points, over the world and faults of [`super::FakeQdrant`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;

use qdrant_client::qdrant as q;
use qdrant_client::qdrant::collections_server::Collections;
use qdrant_client::qdrant::points_server::Points;
use qdrant_client::qdrant::qdrant_server::Qdrant;
use tonic::{Request, Response, Status};

use super::{Collection, FakeQdrant, Stored, cosine, dense, passes, point_id, uuid_of};

fn done() -> q::PointsOperationResponse {
    q::PointsOperationResponse {
        result: Some(q::UpdateResult { operation_id: Some(0), status: q::UpdateStatus::Completed as i32 }),
        time: 0.0,
        usage: None,
    }
}

fn ok() -> Response<q::CollectionOperationResponse> {
    Response::new(q::CollectionOperationResponse { result: true, time: 0.0 })
}

/// What steward never calls: `unimplemented`, written as `async_trait`
/// expands an `async fn`.
macro_rules! unimplemented_calls {
    ($($name:ident: $req:ident => $resp:ident),* $(,)?) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            _: Request<q::$req>,
        ) -> Pin<Box<dyn Future<Output = Result<Response<q::$resp>, Status>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async { Err(Status::unimplemented(stringify!($name))) })
        }
    )*};
}

#[tonic::async_trait]
impl Qdrant for FakeQdrant {
    async fn health_check(&self, _: Request<q::HealthCheckRequest>) -> Result<Response<q::HealthCheckReply>, Status> {
        self.gate().await?;
        let version = self.version.lock().unwrap().clone();
        Ok(Response::new(q::HealthCheckReply { title: "qdrant stand-in".into(), version, commit: None }))
    }
}

#[tonic::async_trait]
impl Collections for FakeQdrant {
    async fn get(
        &self,
        r: Request<q::GetCollectionInfoRequest>,
    ) -> Result<Response<q::GetCollectionInfoResponse>, Status> {
        self.gate().await?;
        let info = self.on(&r.get_ref().collection_name, |c| {
            let vectors = q::VectorsConfig {
                config: Some(q::vectors_config::Config::Params(q::VectorParams {
                    size: c.size,
                    distance: c.distance,
                    ..Default::default()
                })),
            };
            let params = q::CollectionParams {
                shard_number: c.created.shard_number.unwrap_or(1),
                vectors_config: Some(vectors),
                replication_factor: c.created.replication_factor,
                write_consistency_factor: c.created.write_consistency_factor,
                ..Default::default()
            };
            q::CollectionInfo {
                status: q::CollectionStatus::Green as i32,
                config: Some(q::CollectionConfig { params: Some(params), ..Default::default() }),
                payload_schema: c.indexed_fields.iter().map(|f| (f.clone(), q::PayloadSchemaInfo::default())).collect(),
                points_count: Some(c.points.len() as u64),
                ..Default::default()
            }
        })?;
        Ok(Response::new(q::GetCollectionInfoResponse { result: Some(info), time: 0.0 }))
    }

    async fn list(
        &self,
        _: Request<q::ListCollectionsRequest>,
    ) -> Result<Response<q::ListCollectionsResponse>, Status> {
        self.gate().await?;
        let w = self.world.lock().unwrap();
        let collections = w.collections.keys().map(|n| q::CollectionDescription { name: n.clone() }).collect();
        Ok(Response::new(q::ListCollectionsResponse { collections, time: 0.0 }))
    }

    async fn create(
        &self,
        r: Request<q::CreateCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.gate().await?;
        let create = r.into_inner();
        let Some(q::vectors_config::Config::Params(p)) = create.vectors_config.as_ref().and_then(|v| v.config.clone())
        else {
            return Err(Status::invalid_argument("one unnamed vector is all the stand-in keeps"));
        };
        let mut w = self.world.lock().unwrap();
        if w.collections.contains_key(&create.collection_name) || w.aliases.contains_key(&create.collection_name) {
            return Err(Status::already_exists(format!("Collection `{}` already exists!", create.collection_name)));
        }
        let c = Collection { size: p.size, distance: p.distance, created: create.clone(), ..Default::default() };
        w.collections.insert(create.collection_name, c);
        Ok(ok())
    }

    async fn delete(
        &self,
        r: Request<q::DeleteCollection>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.gate().await?;
        let name = r.into_inner().collection_name;
        let mut w = self.world.lock().unwrap();
        let existed = w.collections.remove(&name).is_some();
        w.aliases.retain(|_, c| *c != name);
        Ok(Response::new(q::CollectionOperationResponse { result: existed, time: 0.0 }))
    }

    async fn update_aliases(
        &self,
        r: Request<q::ChangeAliases>,
    ) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.gate().await?;
        let mut w = self.world.lock().unwrap();
        // All or nothing, as Qdrant applies them.
        let mut aliases = w.aliases.clone();
        for op in r.into_inner().actions {
            match op.action {
                Some(q::alias_operations::Action::CreateAlias(c)) => {
                    if !w.collections.contains_key(&c.collection_name) {
                        return Err(Status::not_found(format!("Collection `{}` doesn't exist!", c.collection_name)));
                    }
                    if w.collections.contains_key(&c.alias_name) {
                        return Err(Status::already_exists(format!("`{}` is a collection", c.alias_name)));
                    }
                    aliases.insert(c.alias_name, c.collection_name);
                }
                Some(q::alias_operations::Action::DeleteAlias(d)) => {
                    if aliases.remove(&d.alias_name).is_none() {
                        return Err(Status::not_found(format!("Alias `{}` doesn't exist!", d.alias_name)));
                    }
                }
                Some(q::alias_operations::Action::RenameAlias(r)) => {
                    let Some(c) = aliases.remove(&r.old_alias_name) else {
                        return Err(Status::not_found(format!("Alias `{}` doesn't exist!", r.old_alias_name)));
                    };
                    aliases.insert(r.new_alias_name, c);
                }
                None => return Err(Status::invalid_argument("an empty alias action")),
            }
        }
        w.aliases = aliases;
        Ok(ok())
    }

    async fn list_collection_aliases(
        &self,
        r: Request<q::ListCollectionAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        self.gate().await?;
        let name = r.into_inner().collection_name;
        let w = self.world.lock().unwrap();
        let aliases = w
            .aliases
            .iter()
            .filter(|(_, c)| **c == name)
            .map(|(a, c)| q::AliasDescription { alias_name: a.clone(), collection_name: c.clone() })
            .collect();
        Ok(Response::new(q::ListAliasesResponse { aliases, time: 0.0 }))
    }

    async fn list_aliases(
        &self,
        _: Request<q::ListAliasesRequest>,
    ) -> Result<Response<q::ListAliasesResponse>, Status> {
        self.gate().await?;
        let w = self.world.lock().unwrap();
        let aliases = w
            .aliases
            .iter()
            .map(|(a, c)| q::AliasDescription { alias_name: a.clone(), collection_name: c.clone() })
            .collect();
        Ok(Response::new(q::ListAliasesResponse { aliases, time: 0.0 }))
    }

    async fn collection_exists(
        &self,
        r: Request<q::CollectionExistsRequest>,
    ) -> Result<Response<q::CollectionExistsResponse>, Status> {
        self.gate().await?;
        let exists = self.world.lock().unwrap().collections.contains_key(&r.get_ref().collection_name);
        Ok(Response::new(q::CollectionExistsResponse { result: Some(q::CollectionExists { exists }), time: 0.0 }))
    }

    unimplemented_calls! {
        update: UpdateCollection => CollectionOperationResponse,
        collection_cluster_info: CollectionClusterInfoRequest => CollectionClusterInfoResponse,
        update_collection_cluster_setup: UpdateCollectionClusterSetupRequest => UpdateCollectionClusterSetupResponse,
        create_shard_key: CreateShardKeyRequest => CreateShardKeyResponse,
        delete_shard_key: DeleteShardKeyRequest => DeleteShardKeyResponse,
        list_shard_keys: ListShardKeysRequest => ListShardKeysResponse,
    }
}

#[tonic::async_trait]
impl Points for FakeQdrant {
    async fn upsert(&self, r: Request<q::UpsertPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let lose = self.lose.load(Ordering::SeqCst);
        self.on(&r.collection_name, |c| {
            for p in r.points {
                let vector = match p.vectors.and_then(|v| v.vectors_options) {
                    Some(q::vectors::VectorsOptions::Vector(v)) => dense(&v),
                    _ => return Err(Status::invalid_argument("one unnamed dense vector per point")),
                };
                if vector.len() as u64 != c.size {
                    return Err(Status::invalid_argument(format!(
                        "Wrong input: Vector dimension error: expected dim: {}, got {}",
                        c.size,
                        vector.len()
                    )));
                }
                let id = p.id.as_ref().and_then(uuid_of).ok_or_else(|| Status::invalid_argument("no id"))?;
                if !lose {
                    c.points.insert(id, Stored { vector, payload: p.payload });
                }
            }
            Ok(())
        })??;
        Ok(Response::new(done()))
    }

    async fn delete(&self, r: Request<q::DeletePoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let ids = match r.points.and_then(|p| p.points_selector_one_of) {
            Some(q::points_selector::PointsSelectorOneOf::Points(list)) => list.ids,
            _ => return Err(Status::invalid_argument("the stand-in deletes by id only")),
        };
        self.on(&r.collection_name, |c| {
            for id in ids.iter().filter_map(uuid_of) {
                c.points.remove(&id);
            }
        })?;
        Ok(Response::new(done()))
    }

    async fn get(&self, r: Request<q::GetPoints>) -> Result<Response<q::GetResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let result = self.on(&r.collection_name, |c| {
            r.ids
                .iter()
                .filter_map(uuid_of)
                .filter(|id| c.points.contains_key(id))
                .map(|id| q::RetrievedPoint { id: Some(point_id(&id)), ..Default::default() })
                .collect()
        })?;
        Ok(Response::new(q::GetResponse { result, time: 0.0, usage: None }))
    }

    async fn create_field_index(
        &self,
        r: Request<q::CreateFieldIndexCollection>,
    ) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        self.on(&r.collection_name, |c| {
            if !c.indexed_fields.contains(&r.field_name) {
                c.indexed_fields.push(r.field_name.clone());
            }
        })?;
        Ok(Response::new(done()))
    }

    async fn scroll(&self, r: Request<q::ScrollPoints>) -> Result<Response<q::ScrollResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let limit = r.limit.unwrap_or(10) as usize;
        let from = r.offset.as_ref().and_then(uuid_of);
        let (result, next) = self.on(&r.collection_name, |c| {
            let mut page: Vec<String> =
                c.points.keys().filter(|id| from.as_ref().is_none_or(|f| *id >= f)).take(limit + 1).cloned().collect();
            let next = if page.len() > limit { page.pop() } else { None };
            let result =
                page.iter().map(|id| q::RetrievedPoint { id: Some(point_id(id)), ..Default::default() }).collect();
            (result, next.map(|n| point_id(&n)))
        })?;
        Ok(Response::new(q::ScrollResponse { next_page_offset: next, result, time: 0.0, usage: None }))
    }

    async fn count(&self, r: Request<q::CountPoints>) -> Result<Response<q::CountResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let count = self.on(&r.collection_name, |c| {
            c.points.values().filter(|p| passes(r.filter.as_ref(), &p.payload)).count() as u64
        })?;
        Ok(Response::new(q::CountResponse { result: Some(q::CountResult { count }), time: 0.0, usage: None }))
    }

    async fn query(&self, r: Request<q::QueryPoints>) -> Result<Response<q::QueryResponse>, Status> {
        self.gate().await?;
        let r = r.into_inner();
        let vector = match r.query.and_then(|q| q.variant) {
            Some(q::query::Variant::Nearest(input)) => match input.variant {
                Some(q::vector_input::Variant::Dense(d)) => d.data,
                _ => return Err(Status::invalid_argument("a dense vector to search near")),
            },
            _ => return Err(Status::invalid_argument("the stand-in answers nearest queries only")),
        };
        let limit = r.limit.unwrap_or(10) as usize;
        let result = self.on(&r.collection_name, |c| {
            if vector.len() as u64 != c.size {
                return Err(Status::invalid_argument("Wrong input: Vector dimension error"));
            }
            let mut scored: Vec<q::ScoredPoint> = c
                .points
                .iter()
                .filter(|(_, p)| passes(r.filter.as_ref(), &p.payload))
                .map(|(id, p)| q::ScoredPoint {
                    id: Some(point_id(id)),
                    score: cosine(&vector, &p.vector),
                    ..Default::default()
                })
                .collect();
            scored.sort_by(|a, b| b.score.total_cmp(&a.score));
            scored.truncate(limit);
            Ok(scored)
        })??;
        Ok(Response::new(q::QueryResponse { result, time: 0.0, usage: None }))
    }

    unimplemented_calls! {
        update_vectors: UpdatePointVectors => PointsOperationResponse,
        delete_vectors: DeletePointVectors => PointsOperationResponse,
        set_payload: SetPayloadPoints => PointsOperationResponse,
        overwrite_payload: SetPayloadPoints => PointsOperationResponse,
        delete_payload: DeletePayloadPoints => PointsOperationResponse,
        clear_payload: ClearPayloadPoints => PointsOperationResponse,
        delete_field_index: DeleteFieldIndexCollection => PointsOperationResponse,
        create_vector_name: CreateVectorNameRequest => PointsOperationResponse,
        delete_vector_name: DeleteVectorNameRequest => PointsOperationResponse,
        search: SearchPoints => SearchResponse,
        search_batch: SearchBatchPoints => SearchBatchResponse,
        search_groups: SearchPointGroups => SearchGroupsResponse,
        recommend: RecommendPoints => RecommendResponse,
        recommend_batch: RecommendBatchPoints => RecommendBatchResponse,
        recommend_groups: RecommendPointGroups => RecommendGroupsResponse,
        discover: DiscoverPoints => DiscoverResponse,
        discover_batch: DiscoverBatchPoints => DiscoverBatchResponse,
        update_batch: UpdateBatchPoints => UpdateBatchResponse,
        query_batch: QueryBatchPoints => QueryBatchResponse,
        query_groups: QueryPointGroups => QueryGroupsResponse,
        facet: FacetCounts => FacetResponse,
        search_matrix_pairs: SearchMatrixPoints => SearchMatrixPairsResponse,
        search_matrix_offsets: SearchMatrixPoints => SearchMatrixOffsetsResponse,
    }
}
